"""The public map's endpoints, as a visitor without an account: region summary, gzipped GeoJSON layers
with ETags, search; bad parameters are 422, a server without region data answers 404, and a missing
source file is named when the layers are built."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from metaliverpool.api.app import create_app
from metaliverpool.errors import InputError
from metaliverpool.ingest import region_layers
from metaliverpool.ingest.zones import DECILE_COLUMNS
from metaliverpool.service.public_map import LAYER_NAMES, PRECISION_DEG, PublicMap
from metaliverpool.service.rate_limits import AddressLimiter, PublicReadLimits, TooManyRequests
from web.conftest import make_config
from web.region_fixture import HOSPITAL, STATION, write_region


@pytest.fixture
def visitor(twin_dir: Path, region_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    """A client of a server with region data, never signed in."""
    with TestClient(create_app(make_config(twin_dir, tmp_path, region_data=region_dir))) as client:
        yield client


def test_region_summary_needs_no_account(visitor: TestClient) -> None:
    response = visitor.get("/api/public/region")
    assert response.status_code == 200
    body = response.json()
    assert body["bounds"] == [-3.1, 53.38, -2.9, 53.45]
    counts = {layer["name"]: layer["features"] for layer in body["layers"]}
    # the inactive bus stop and the one outside the region are dropped
    assert counts == {
        "districts": 2, "wards": 2, "lsoas": 4, "services": 3, "stations": 2, "bus_stops": 1, "roads": 2,
    }  # fmt: skip


def test_layers_are_gzipped_geojson_with_etag(visitor: TestClient) -> None:
    for name in LAYER_NAMES:
        response = visitor.get(f"/api/public/layers/{name}", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, name
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["cache-control"] == "public, max-age=3600"
        assert response.headers["content-type"] == "application/geo+json"
        assert "content-security-policy" in response.headers
        collection = response.json()  # httpx undoes the gzip
        assert collection["type"] == "FeatureCollection" and collection["features"]
        again = visitor.get(f"/api/public/layers/{name}", headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    plain = visitor.get("/api/public/layers/services", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    services = {f["properties"]["name"]: f for f in json.loads(plain.content)["features"]}
    hospital = services[HOSPITAL[0]]
    assert hospital["geometry"]["coordinates"] == [HOSPITAL[1], HOSPITAL[2]]
    assert hospital["properties"]["details"]["Postcode"] == "L1 1AA"


def test_wards_and_the_deciles_of_every_imd_domain(visitor: TestClient) -> None:
    wards = visitor.get("/api/public/layers/wards").json()["features"]
    assert sorted((w["properties"]["name"], w["properties"]["district"]) for w in wards) == [
        ("Eastham Central", "Eastham"),
        ("Westshire Central", "Westshire"),
    ]
    assert all({"code", "label_lon", "label_lat"} <= set(w["properties"]) for w in wards)
    lsoas = visitor.get("/api/public/layers/lsoas").json()["features"]
    first = next(f["properties"] for f in lsoas if f["properties"]["code"] == "E01000000")
    # every domain's decile as the IMD file has it (the fixture writes 5 for the domains it does not set)
    assert first["imd_decile"] == 1 and first["income_decile"] == 2
    assert {key: first[key] for key in DECILE_COLUMNS if key not in ("imd_decile", "income_decile")} == {
        key: 5 for key in DECILE_COLUMNS if key not in ("imd_decile", "income_decile")
    }
    found = visitor.get("/api/public/search", params={"q": "westshire c"}).json()
    assert [(hit["kind"], hit["name"], hit["detail"]) for hit in found] == [
        ("ward", "Westshire Central", "Westshire")
    ]


def test_public_requests_are_limited_per_address(twin_dir: Path, region_dir: Path, tmp_path: Path) -> None:
    """Over the burst, a client address gets 429 with Retry-After; the limit refills with time."""
    limits = PublicReadLimits(requests_per_s=0.5, burst=5)
    config = make_config(twin_dir, tmp_path, region_data=region_dir, public_read_limits=limits)
    with TestClient(create_app(config)) as client:
        codes = [client.get("/api/public/region").status_code for _ in range(7)]
        assert codes == [200] * 5 + [429] * 2
        refused = client.get("/api/public/search", params={"q": "lime"})
        assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
        assert "too many requests" in refused.json()["detail"]
        assert client.get("/api/health").status_code == 200  # only /api/public/* is limited


def test_address_limiter_refills_and_forgets_the_oldest() -> None:
    limiter = AddressLimiter(PublicReadLimits(requests_per_s=2.0, burst=2, max_addresses=2))
    limiter.check("a", 0.0)
    limiter.check("a", 0.0)
    with pytest.raises(TooManyRequests):
        limiter.check("a", 0.1)
    limiter.check("a", 0.6)  # 0.6 s at 2 a second: one more
    limiter.check("b", 0.6)
    limiter.check("c", 0.6)  # "a" was seen least recently: forgotten, so it starts with a full burst
    limiter.check("a", 0.6)
    limiter.check("a", 0.6)


def test_coordinates_are_quantised(tmp_path: Path) -> None:
    folder = write_region(tmp_path)
    path = folder / region_layers.SRN_FILE
    document = json.loads(path.read_text())
    document["features"][0]["geometry"]["coordinates"][0] = [-3.0912345678, 53.4412345678]
    path.write_text(json.dumps(document))
    roads = json.loads(gzip.decompress(PublicMap(folder).layer("roads").gzip_bytes))
    first = roads["features"][0]["geometry"]["coordinates"][0]
    assert first == pytest.approx([-3.09123, 53.44123], abs=PRECISION_DEG / 2)
    assert all(len(repr(value).split(".")[1]) <= 5 for value in first)


def test_search_finds_the_station_and_the_street(visitor: TestClient) -> None:
    response = visitor.get("/api/public/search", params={"q": "lime street"})
    assert response.status_code == 200
    found = {(hit["kind"], hit["name"]) for hit in response.json()}
    assert ("rail", STATION[0]) in found and ("street", "Lime Street") in found
    districts = visitor.get("/api/public/search", params={"q": "westsh", "limit": 1}).json()
    assert [(hit["kind"], hit["name"]) for hit in districts] == [("district", "Westshire")]


@pytest.mark.parametrize(
    "path",
    [
        "/api/public/layers/buildings",
        "/api/public/search?q=a",
        "/api/public/search",
        "/api/public/search?q=lime&limit=0",
        "/api/public/search?q=lime&limit=51",
        "/api/public/search?q=" + "x" * 81,
        "/api/public/search?q=li%00me",
    ],
)
def test_bad_parameters_are_422(visitor: TestClient, path: str) -> None:
    assert visitor.get(path).status_code == 422


def test_without_region_data_the_endpoints_are_404(client: TestClient) -> None:
    for path in ("/api/public/region", "/api/public/layers/districts", "/api/public/search?q=lime"):
        response = client.get(path)
        assert response.status_code == 404
        assert "region data" in response.json()["detail"]


@pytest.mark.parametrize("relative", [region_layers.DISTRICTS_FILE, region_layers.NAPTAN_FILES[1]])
def test_a_missing_source_is_named(tmp_path: Path, relative: str) -> None:
    folder = write_region(tmp_path)
    (folder / relative).unlink()
    with pytest.raises(InputError, match="file not found") as raised:
        PublicMap(folder).build()
    assert str(folder / relative) in str(raised.value)


def test_bad_naptan_columns_are_named(tmp_path: Path) -> None:
    folder = write_region(tmp_path)
    path = folder / region_layers.NAPTAN_FILES[0]
    path.write_text("ATCOCode,CommonName\n9100X,Somewhere\n")
    with pytest.raises(InputError, match="missing NaPTAN columns"):
        PublicMap(folder).build()


@pytest.mark.slow
def test_real_region_layers(tmp_path: Path) -> None:
    """The real data folder: every district, LSOA and station of SOURCES.md is served."""
    from metaliverpool.config import data_dir

    folder = data_dir()
    if not (folder / region_layers.DISTRICTS_FILE).is_file():
        pytest.skip(f"no region data at {folder}")
    public_map = PublicMap(folder)
    summary = public_map.summary()
    counts = {layer["name"]: layer["features"] for layer in summary["layers"]}
    assert counts["districts"] == 6 and counts["lsoas"] == 989 and counts["wards"] == 132
    # the 90 active rail stations and 6 ferry terminals of the rail and ferry file; Reston (Scottish
    # Borders), a rail row of the Merseyside file, lies outside the region
    assert counts["stations"] == 96
    assert sum(layer["gzip_bytes"] for layer in summary["layers"]) < 1_000_000
    found = {(hit["kind"], hit["name"]) for hit in public_map.search("Lime Street", 10)}
    assert ("rail", "Liverpool Lime Street Rail Station") in found and ("street", "Lime Street") in found


def contrast(first: str, second: str) -> float:
    """WCAG 2.2 contrast ratio of two ``#rrggbb`` colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def style_colours(block: str) -> dict[str, str]:
    """The ``name: "#rrggbb"`` entries of a record (or ``["name", "#rrggbb"]`` pairs) in the public map's
    style module."""
    style = (Path(__file__).resolve().parents[2] / "web" / "src" / "public" / "style.ts").read_text()
    found = re.search(block + r"[^=]*= [\[{](.*?)[\]}];\n", style, re.S)
    assert found, block
    pairs = re.findall(r'"?(\w+)"?[,:] "(#[0-9a-f]{6})"', found.group(1))
    return dict(pairs)


def style_constant(name: str) -> str:
    style = (Path(__file__).resolve().parents[2] / "web" / "src" / "public" / "style.ts").read_text()
    found = re.search(name + r' = "(#[0-9a-f]{6})"', style)
    assert found, name
    return found.group(1)


def test_contrast_of_the_map_colours() -> None:
    """Read from the client's style module: every line and symbol colour (roads, boundaries, services,
    stations, bus stops) at least 3:1 against the land, the roads and stations (which cross or stand on the
    estuaries: tunnels, bridges, ferry terminals) also against the water (WCAG 2.2 non-text contrast); the
    labels at least 4.5:1 against the land; the land and the water differ."""
    land, water = style_constant("LAND"), style_constant("WATER")
    roads = style_colours("ROAD_COLOURS")
    outlines = style_colours("OUTLINE_COLOURS")
    symbols = {**style_colours("SERVICE_COLOURS"), **style_colours("STATION_COLOURS")}
    labels = style_colours("LABEL_COLOURS")
    assert len(roads) == 5 and len(outlines) == 4 and len(symbols) == 5 and len(labels) == 2
    on_land = {**roads, **outlines, **symbols}
    ratios = {name: contrast(colour, land) for name, colour in on_land.items()}
    assert min(ratios.values()) >= 3.0, ratios
    on_water = {**roads, **style_colours("STATION_COLOURS")}
    water_ratios = {name: contrast(colour, water) for name, colour in on_water.items()}
    assert min(water_ratios.values()) >= 3.0, water_ratios
    assert min(contrast(colour, land) for colour in labels.values()) >= 4.5
    assert contrast(land, water) > 1.5
    # the HTML labels use the same colours as the style module says
    css = (Path(__file__).resolve().parents[2] / "web" / "src" / "style.css").read_text()
    for name, colour in labels.items():
        assert re.search(rf"\.{name}-label \{{[^}}]*color: {colour};", css), name
