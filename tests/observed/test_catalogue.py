"""The catalogue knows DfT's count-point files of the six districts (addresses checked, not downloaded)."""

from __future__ import annotations

from pathlib import Path

from metaliverpool.ingest.catalogue import SOURCES, get_source
from metaliverpool.ingest.fetch import fetch_target

BASE = "https://storage.googleapis.com/dft-statistics/road-traffic/downloads"
DISTRICTS = {"wirral": 84, "halton": 156, "knowsley": 157, "st_helens": 158, "liverpool": 161, "sefton": 192}


def test_dft_count_point_files_of_the_six_districts() -> None:
    for district, authority in DISTRICTS.items():
        aadf = get_source(f"dft_aadf_{district}")
        raw = get_source(f"dft_rawcount_{district}")
        assert aadf.url == (
            f"{BASE}/aadfbydirection/local_authority_id/dft_aadfbydirection_local_authority_id_{authority}.csv"
        )
        assert (
            raw.url == f"{BASE}/rawcount/local_authority_id/dft_rawcount_local_authority_id_{authority}.csv"
        )
        for source in (aadf, raw):
            assert not source.required and source.licence == "OGL v3.0"
            # data fetch puts the file where data status looks for it
            assert fetch_target(source, Path("/data")) == Path("/data") / source.path
    names = [s.name for s in SOURCES]
    assert len(names) == len(set(names))


def test_jts_lsoa_tables_jts0501_to_jts0509() -> None:
    """The GOV.UK attachment addresses of DfT's JTS LSOA tables, as datasciencecampus/jtstats-r lists them."""
    attachments = {
        "jts0501": 1049632,
        "jts0502": 1030968,
        "jts0503": 1030971,
        "jts0504": 1030973,
        "jts0505": 1030975,
        "jts0506": 1030976,
        "jts0507": 1030977,
        "jts0508": 1030979,
        "jts0509": 748222,
    }
    base = "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/attachment_data/file"
    for code, attachment in attachments.items():
        source = get_source(code)
        assert source.url == f"{base}/{attachment}/{code}.ods"
        assert not source.required and source.licence == "OGL v3.0" and source.path == f"fetched/{code}.ods"
