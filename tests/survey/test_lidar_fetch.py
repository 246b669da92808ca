"""``data fetch --lidar-bbox``: the Environment Agency WCS request for a bounding box (no network used)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from pyproj import Transformer

from cli_capture import run_cli
from metaliverpool.errors import InputError
from metaliverpool.ingest.catalogue import EA_LIDAR_COMPOSITE
from metaliverpool.ingest.fetch import lidar_bbox_bng, lidar_coverage_url

TOWN_HALL = (-2.9916, 53.4066)


def test_box_covers_the_lonlat_box_in_whole_metres() -> None:
    west, south = TOWN_HALL
    box = lidar_bbox_bng((west, south, west + 0.01, south + 0.005))
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    for lon, lat in (
        (west, south),
        (west + 0.01, south + 0.005),
        (west, south + 0.005),
        (west + 0.01, south),
    ):
        x, y = to_bng.transform(lon, lat)
        assert box[0] <= x <= box[2] and box[1] <= y <= box[3]
    assert 600 < box[2] - box[0] < 700 and 500 < box[3] - box[1] < 600
    assert 333_000 < box[0] < 335_000 and 389_000 < box[1] < 391_000


def test_coverage_urls() -> None:
    box = (334_000, 390_000, 334_500, 390_400)
    urls = {source.name: lidar_coverage_url(source, box) for source in EA_LIDAR_COMPOSITE}
    assert set(urls) == {"dsm", "dtm"}
    for source in EA_LIDAR_COMPOSITE:
        parts = urlsplit(urls[source.name])
        assert parts.scheme == "https" and parts.netloc == "environment.data.gov.uk"
        query = parse_qs(parts.query)
        assert query["service"] == ["WCS"] and query["version"] == ["2.0.1"]
        assert query["request"] == ["GetCoverage"] and query["format"] == ["image/tiff"]
        assert query["CoverageId"] == [source.coverage_id]
        assert query["subset"] == ["E(334000,334500)", "N(390000,390400)"]


@pytest.mark.parametrize(
    ("bbox", "phrase"),
    [("1,2,3", "four numbers"), ("-2.9,53.4,-3.0,53.41", "west,south"), ("-3.2,53.3,-2.8,53.5", "5000 m")],
)
def test_bad_bbox_exits_2(bbox: str, phrase: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["data", "fetch", "--lidar-bbox", bbox], capsys)
    assert code == 2 and out == ""
    assert "--lidar-bbox" in err and phrase in err and len(err.strip().splitlines()) == 1


def test_too_large_box_is_refused_before_any_request() -> None:
    with pytest.raises(InputError):
        lidar_bbox_bng((-3.1, 53.3, -2.9, 53.5))
