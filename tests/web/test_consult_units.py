"""The pieces of public consultations that need no server: the proof-of-work check against a plain
reference, the CSV export read back by Python's csv module for any text (hypothesis), the GeoJSON
export, and migration 0004 up and down on SQLite and PostgreSQL with an existing scenario."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import column, insert, inspect, select, table

from metaliverpool.service.challenges import leading_zero_bits, solves
from metaliverpool.service.comment_export import CSV_COLUMNS, comments_csv, comments_geojson
from metaliverpool.store import db as db_module
from metaliverpool.store.db import Database, PublicComment, Scenario

TEXTS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=200)


@given(st.binary(min_size=1, max_size=40))
def test_leading_zero_bits_match_the_bit_string(data: bytes) -> None:
    bits = "".join(f"{byte:08b}" for byte in data)
    assert leading_zero_bits(data) == len(bits) - len(bits.lstrip("0"))


def test_a_solution_is_checked_by_its_hash() -> None:
    challenge = "0123456789abcdef0123456789abcdef"
    found = next(
        str(n)
        for n in range(1_000_000)
        if hashlib.sha256(f"{challenge}:{n}".encode()).hexdigest().startswith("000")
    )
    assert solves(challenge, found, 12)
    assert not solves(challenge, found, 40)


def comment(text: str, answer: str | None, comment_id: int = 1) -> PublicComment:
    return PublicComment(
        comment_id=comment_id,
        scenario_id=1,
        visitor_key="ab" * 32,
        text=text,
        lon=-2.99,
        lat=53.4,
        status="approved",
        created_at_s=1_800_000_000.0,
        answer=answer,
        answered_by=None if answer is None else "olivia",
        answered_at_s=None if answer is None else 1_800_000_100.0,
    )


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.none() | TEXTS)
def test_csv_reads_back_every_text_with_formulas_defused(text: str, answer: str | None) -> None:
    rows = list(csv.DictReader(io.StringIO(comments_csv([comment(text, answer)]), newline="")))
    assert len(rows) == 1 and list(rows[0]) == list(CSV_COLUMNS)
    for written, read in ((text, rows[0]["text"]), (answer or "", rows[0]["answer"])):
        if written[:1] in ("=", "+", "-", "@", "\t", "\r"):
            assert read == "'" + written  # a spreadsheet shows it as text
        else:
            assert read == written
    assert rows[0]["created_at"] == "2027-01-15T08:00:00Z"


def test_geojson_holds_points_and_the_same_fields() -> None:
    collection = comments_geojson([comment("=1+1", "yes"), comment("b", None, 2)], "Car-free")
    assert collection["type"] == "FeatureCollection" and collection["name"] == "Car-free"
    first = collection["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [-2.99, 53.4]}
    assert first["properties"]["text"] == "=1+1"  # GeoJSON keeps the text as it was written
    assert first["properties"]["answered_at"] == "2027-01-15T08:01:40Z"
    assert collection["features"][1]["properties"]["answered_at"] is None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_migration_0004_keeps_scenarios_and_goes_down_again(database_url: str) -> None:
    db = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(Path(db_module.__file__).with_name("migrations")))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        users = table(
            "users",
            column("name"),
            column("name_key"),
            column("password_hash"),
            column("colour"),
            column("created_at_s"),
        )
        connection.execute(
            insert(users).values(
                name="olivia", name_key="olivia", password_hash="x", colour="#000000", created_at_s=0.0
            )
        )
        scenarios = table(
            "scenarios",
            column("twin_id"),
            column("name"),
            column("description"),
            column("owner_id"),
            column("visibility"),
            column("created_at_s"),
        )
        connection.execute(
            insert(scenarios).values(
                twin_id="t", name="Old", description="", owner_id=1, visibility="private", created_at_s=0.0
            )
        )
    db.migrate()
    with db.session() as session:
        assert session.execute(select(Scenario.name, Scenario.published_at_s)).all() == [("Old", None)]
        session.add(
            PublicComment(
                scenario_id=1, visitor_key="v", text="t", lon=0.0, lat=0.0, status="pending", created_at_s=0.0
            )
        )
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
        names = set(inspect(connection).get_table_names())
        assert "public_comments" not in names and "scenarios" in names
        assert "published_at_s" not in {c["name"] for c in inspect(connection).get_columns("scenarios")}
    db.migrate()
    db.dispose()
