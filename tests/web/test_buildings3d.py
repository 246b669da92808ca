"""3D buildings of a surveyed twin on the scenario map: the twin is enriched here by the survey code from
the generated DSM/DTM of ``survey.scenes`` (buildings of known height on sloping ground); the server
serves its ``buildings`` layer (MLL1, gzip, ETag); in Debian's Chromium, with the camera pitched, the
extrusions are drawn, the roads stay visible over them, and a click shows a building's details."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page

from metaliverpool.api.app import create_app
from metaliverpool.ingest.survey import enrich_twin
from metaliverpool.ingest.survey_raster import RasterSurvey
from metaliverpool.service.layers import decode_columns
from metaliverpool.store.bundle import read_optional_table, write_twin
from metaliverpool.survey.config import SurveyConfig
from survey import scenes
from web.browser_pages import account, link_point, open_as, rest
from web.conftest import ProcessServer, make_config, sign_up_in
from web.png import decode_png

TWIN_ID = "surveyed"
MINOR_ROAD_RGB = (170, 170, 170)
PRIMARY_ROAD_RGB = (252, 214, 164)


@pytest.fixture(scope="module")
def surveyed_twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The survey scene's twin enriched with the buildings the survey code finds in its DSM/DTM."""
    folder = tmp_path_factory.mktemp("surveyed")
    dsm, dtm = scenes.write_rasters(folder)
    source = RasterSurvey(dsm, dtm)
    try:
        enriched, buildings, kerbs = enrich_twin(scenes.scene_twin(TWIN_ID), source, SurveyConfig())
    finally:
        source.close()
    return write_twin(enriched, folder / "twin", extra_tables={"buildings": buildings, "kerbs": kerbs})


def test_buildings_layer_is_served_compact_with_etag(
    surveyed_twin: Path, twin_dir: Path, tmp_path: Path
) -> None:
    config = dataclasses.replace(make_config(surveyed_twin, tmp_path), twin_paths=(surveyed_twin, twin_dir))
    with TestClient(create_app(config)) as client:
        headers = sign_up_in(client, "viewer3d")
        assert "buildings" in client.get(f"/api/twins/{TWIN_ID}", headers=headers).json()["layers"]
        response = client.get(
            f"/api/twins/{TWIN_ID}/layers/buildings", headers={**headers, "Accept-Encoding": "gzip"}
        )
        assert response.status_code == 200
        # the server's GZip middleware compresses bodies of 1 KiB and more (a city's buildings layer)
        assert (response.headers.get("content-encoding") == "gzip") == (len(response.content) >= 1024)
        etag = response.headers["etag"]
        header, columns = decode_columns(response.content)
        table = read_optional_table(surveyed_twin, "buildings")
        assert table is not None and header["count"] == len(table) == len(scenes.BUILDINGS)
        assert np.allclose(np.sort(columns["height_m"]), np.sort(table["height_m"].to_numpy()), atol=1e-4)
        expected = sorted(b.expected()["rel_h_max_m"] for b in scenes.BUILDINGS)
        assert np.abs(np.sort(columns["height_m"]) - expected).max() <= 0.5
        assert header["categories"]["source"] == ["survey_dsm"]
        again = client.get(
            f"/api/twins/{TWIN_ID}/layers/buildings", headers={**headers, "If-None-Match": etag}
        )
        assert again.status_code == 304
        assert "buildings" not in client.get("/api/twins/test-grid", headers=headers).json()["layers"]
        missing = client.get("/api/twins/test-grid/layers/buildings", headers=headers)
        assert missing.status_code == 404


def map_pixels(page: Page) -> tuple[int, int]:
    """Pixels of the map in the buildings' colours (blue well above green; land and roads are not), and
    in the roads' colours (minor grey, primary orange)."""
    image = decode_png(page.locator("#map").screenshot()).astype(int)[..., :3]
    purple = (image[..., 2] - image[..., 1] > 25) & (image[..., 0] > image[..., 1])
    road = np.zeros(image.shape[:2], dtype=bool)
    for rgb in (MINOR_ROAD_RGB, PRIMARY_ROAD_RGB):
        road |= np.abs(image - np.array(rgb)).max(axis=-1) <= 12
    return int(purple.sum()), int(road.sum())


def near_colour(page: Page, x: float, y: float, rgb: tuple[int, int, int], tolerance: int = 24) -> bool:
    """Whether some pixel within 3 px of page point (x, y) is within ``tolerance`` of ``rgb``."""
    image = decode_png(page.screenshot(clip={"x": x - 3, "y": y - 3, "width": 7, "height": 7})).astype(int)
    return bool((np.abs(image[..., :3] - np.array(rgb)).max(axis=-1) <= tolerance).any())


def settle(page: Page, pitch_deg: int) -> None:
    page.wait_for_function(f"() => Math.round(window.metaliverpool.map.getPitch()) === {pitch_deg}")
    page.wait_for_function("() => window.metaliverpool.map.loaded() && !window.metaliverpool.map.isMoving()")
    page.wait_for_timeout(400)  # deck.gl draws on the next frame


@pytest.mark.browser
def test_pitched_map_shows_extruded_buildings_and_the_streets(
    browser: Browser, surveyed_twin: Path, tmp_path: Path, web_dist: Path
) -> None:
    server = ProcessServer(surveyed_twin, tmp_path, web_dir=web_dist).start()
    try:
        token = account(server, "surveyor")
        created = rest(server, token, "POST", "/api/scenarios", json={"twin_id": TWIN_ID, "name": "3D"})
        context, page = open_as(browser, server, token, int(created.json()["scenario_id"]))
        check_buildings_page(page, tmp_path)
        context.close()
    finally:
        server.stop()


def check_buildings_page(page: Page, tmp_path: Path) -> None:
    """The Layers tab's 3D buildings, pitched: drawn, hiding no street, and their details on click."""
    page.click("button[data-tab=Layers]")
    assert page.is_checked("#buildings-3d")
    # looking south at 70°: the western building stands in front of the primary road's end
    page.evaluate("window.metaliverpool.map.setBearing(180)")
    page.locator("#pitch").fill("70")
    settle(page, 70)
    with_buildings, road_with = map_pixels(page)
    page.screenshot(path=str(tmp_path / "buildings3d.png"))
    # the two-way minor road (OSM way 100) is drawn
    assert near_colour(page, *link_point(page, 100, 0.5), MINOR_ROAD_RGB)
    page.uncheck("#buildings-3d")
    settle(page, 70)
    without, road_without = map_pixels(page)
    assert with_buildings > 2000 and without < with_buildings / 50, (with_buildings, without)
    # the roads are drawn over the extrusions: every street pixel is still there (with the roads depth
    # tested like any layer, the building in front of the primary road hid 10 %: 3,520 of 3,905 pixels)
    assert road_with >= 0.95 * road_without > 0, (road_with, road_without)
    page.check("#buildings-3d")
    settle(page, 70)
    tallest = page.evaluate(
        """() => {
            const h = window.metaliverpool, b = h.view.buildings, heights = b.columns.height_m;
            let i = 0;
            for (let k = 1; k < b.count; k++) if (heights[k] > heights[i]) i = k;
            const pos = b.columns.positions, ring = b.columns.ring_start[b.columns.polygon_start[i]];
            const end = b.columns.ring_start[b.columns.polygon_start[i] + 1] - 1;
            let lon = 0, lat = 0;
            for (let v = ring; v < end; v++) { lon += pos[2 * v]; lat += pos[2 * v + 1]; }
            const p = h.map.project([lon / (end - ring), lat / (end - ring)]);
            const box = document.getElementById("map").getBoundingClientRect();
            return [box.left + p.x, box.top + p.y, heights[i]];
        }"""
    )
    page.mouse.click(tallest[0], tallest[1])
    details = page.wait_for_selector("#building-details", timeout=5000).inner_text()
    assert f"Height: {tallest[2]:.1f} m" in details and "Source: survey_dsm" in details
