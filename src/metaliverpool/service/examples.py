"""Example scenarios for a demo server: imported once from scenario files, with a version and a run.

:func:`seed_examples` makes (if missing) the account ``demo`` and, for each scenario file, a shared
scenario of that name whose document holds the file's edits, a saved version ``from <file>`` and a run
(baseline and scenario, the file's run settings) queued on that version. Running it again changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from pycrdt import Map
from sqlalchemy import select
from sqlalchemy.orm import Session

from metaliverpool.edits import load_scenario
from metaliverpool.service.accounts import Account, find_user, sign_up
from metaliverpool.service.documents import append_update, new_doc
from metaliverpool.service.passwords import Passwords
from metaliverpool.service.runs import start_run
from metaliverpool.service.scenarios import create_scenario
from metaliverpool.service.versions import save_version
from metaliverpool.store.db import Scenario

DEMO_USER = "demo"
DEMO_PASSWORD = "mersey-ferry-1"
"""The demo account's password (printed by ``metaliverpool serve --example``; change it on a real server)."""


def demo_account(session: Session, passwords: Passwords) -> Account:
    """The ``demo`` account (created on first use)."""
    found = find_user(session, DEMO_USER)
    if found is not None:
        return found
    return sign_up(session, passwords, DEMO_USER, DEMO_PASSWORD)


def seed_example(
    session: Session, passwords: Passwords, twin_id: str, twin_path: Path, path: Path
) -> int | None:
    """Import one scenario file; returns the id of the run it queued, or None if it was there already."""
    scenario_file = load_scenario(path)
    account = demo_account(session, passwords)
    exists = session.scalar(
        select(Scenario.scenario_id).where(
            Scenario.name == scenario_file.name, Scenario.owner_id == account.user_id
        )
    )
    if exists is not None:
        return None
    scenario = create_scenario(
        session, account, twin_id, scenario_file.name, scenario_file.description, visibility="shared"
    )
    doc = new_doc()
    edits = doc.get("edits", type=Map)
    for number, edit in enumerate(scenario_file.to_document()["edits"]):
        edit_id = str(edit.get("id") or f"edit-{number + 1}")
        edits[edit_id] = {
            "edit": {**edit, "id": edit_id},
            "author": account.name,
            "created_at_s": float(number),
        }
    append_update(session, scenario.scenario_id, doc.get_update(), account.user_id)
    session.flush()
    version = save_version(session, account, scenario.scenario_id, f"from {path.name}")
    settings = scenario_file.run.model_dump(mode="json")
    run = start_run(session, account, scenario.scenario_id, twin_path, version.version_id, settings)
    return run.run_id
