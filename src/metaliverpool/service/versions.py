"""Versions of scenarios (git for scenarios): save, history, fork, diff, restore.

A version freezes the whole shared document (edits and comments) as one Yjs update plus its edits as
JSON. Forking a version makes a new scenario, owned by whoever forks, whose document starts from that
state. A diff lists edits added, removed and changed between two versions and, when both have finished
runs, the difference of every numeric KPI (b minus a). Restoring a version makes the scenario's live
document hold that version's edits again, as one new change through the scenario's room (everyone
connected sees it at once); the edits as they were just before are saved first as a version of their own
("before restoring vN"), so a restore can itself be restored away. Comments are not touched.
"""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from pycrdt import Doc, Map
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from metaliverpool.service.access import NotFound, require_scenario
from metaliverpool.service.accounts import Account
from metaliverpool.service.documents import append_update, edits_to_json, load_doc, read_edits
from metaliverpool.service.rooms import RoomRegistry
from metaliverpool.service.scenarios import check_name, create_scenario
from metaliverpool.store.db import Database, Retry, Run, Scenario, User, Version, now_s


def describe_version(session: Session, version: Version) -> dict[str, Any]:
    """A version as the API returns it (without the document state)."""
    author = session.get(User, version.author_id)
    return {
        "version_id": version.version_id,
        "scenario_id": version.scenario_id,
        "number": version.number,
        "name": version.name,
        "author": author.name if author else None,
        "created_at_s": version.created_at_s,
        "edit_count": len(json.loads(version.edits_json)),
    }


def save_version(session: Session, account: Account, scenario_id: int, name: str) -> Version:
    """Save the scenario's current document as a named version (editor or owner).

    Version numbers are unique per scenario (a unique index): when a concurrent save takes the same
    number this raises :class:`~metaliverpool.store.db.Retry`, so run it through
    :meth:`~metaliverpool.store.db.Database.run`, which starts the transaction again.
    """
    require_scenario(session, scenario_id, account.user_id, "editor")
    return store_version(
        session, account, scenario_id, check_name(name, "version"), load_doc(session, scenario_id)
    )


def store_version(session: Session, account: Account, scenario_id: int, name: str, doc: Doc) -> Version:
    """Store ``doc`` as the scenario's next version (the caller has checked the role and the name);
    raises :class:`~metaliverpool.store.db.Retry` when a concurrent save took the number."""
    last = session.scalar(select(func.max(Version.number)).where(Version.scenario_id == scenario_id)) or 0
    version = Version(
        scenario_id=scenario_id,
        number=last + 1,
        name=name,
        author_id=account.user_id,
        created_at_s=now_s(),
        state=doc.get_update(),
        edits_json=edits_to_json(doc),
    )
    session.add(version)
    try:
        session.flush()
    except IntegrityError:  # a concurrent save took this number (unique per scenario): start again
        raise Retry from None
    return version


def list_versions(
    session: Session, account: Account, scenario_id: int, limit: int = 100, offset: int = 0
) -> list[Version]:
    """The scenario's versions, newest first, ``limit`` of them from ``offset`` (any reader)."""
    require_scenario(session, scenario_id, account.user_id, "viewer")
    return list(
        session.scalars(
            select(Version)
            .where(Version.scenario_id == scenario_id)
            .order_by(Version.number.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def get_version(session: Session, account: Account, version_id: int) -> Version:
    """A version the user may read; raises :class:`NotFound`."""
    version = session.get(Version, version_id)
    if version is None:
        raise NotFound(f"version {version_id} not found")
    require_scenario(session, version.scenario_id, account.user_id, "viewer")
    return version


def fork_version(session: Session, account: Account, version_id: int, name: str) -> Scenario:
    """A new private scenario owned by ``account`` that starts from the version's document."""
    version = get_version(session, account, version_id)
    source = session.get(Scenario, version.scenario_id)
    assert source is not None
    scenario = create_scenario(session, account, source.twin_id, name, source.description, "private")
    scenario.forked_from_version_id = version.version_id
    append_update(session, scenario.scenario_id, version.state, account.user_id)
    session.flush()
    return scenario


def latest_kpis(session: Session, version_id: int) -> dict[str, Any] | None:
    """KPIs of the newest finished run of a version, or None."""
    run = session.scalar(
        select(Run)
        .where(Run.version_id == version_id, Run.status == "done")
        .order_by(Run.run_id.desc())
        .limit(1)
    )
    return None if run is None else json.loads(run.kpis_json)


def numeric_leaves(data: Any, prefix: str = "") -> dict[str, float]:
    """Every numeric value of nested dicts, keyed by its dotted path."""
    leaves: dict[str, float] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            leaves.update(numeric_leaves(value, f"{prefix}{key}."))
    elif isinstance(data, int | float) and not isinstance(data, bool):
        leaves[prefix.rstrip(".")] = float(data)
    return leaves


def diff_versions(session: Session, account: Account, a_id: int, b_id: int) -> dict[str, Any]:
    """Edits added, removed and changed from version ``a`` to ``b``, and the KPI difference if both ran."""
    a = get_version(session, account, a_id)
    b = get_version(session, account, b_id)
    edits_a: dict[str, Any] = json.loads(a.edits_json)
    edits_b: dict[str, Any] = json.loads(b.edits_json)
    added = [{"id": key, **edits_b[key]} for key in sorted(set(edits_b) - set(edits_a))]
    removed = [{"id": key, **edits_a[key]} for key in sorted(set(edits_a) - set(edits_b))]
    changed = [
        {"id": key, "before": edits_a[key]["edit"], "after": edits_b[key]["edit"]}
        for key in sorted(set(edits_a) & set(edits_b))
        if edits_a[key].get("edit") != edits_b[key].get("edit")
    ]
    kpis_a = latest_kpis(session, a.version_id)
    kpis_b = latest_kpis(session, b.version_id)
    kpi_difference = None
    if kpis_a is not None and kpis_b is not None:
        leaves_a = numeric_leaves(kpis_a)
        leaves_b = numeric_leaves(kpis_b)
        kpi_difference = {
            key: {"a": leaves_a[key], "b": leaves_b[key], "b_minus_a": leaves_b[key] - leaves_a[key]}
            for key in sorted(set(leaves_a) & set(leaves_b))
        }
    return {
        "a": describe_version(session, a),
        "b": describe_version(session, b),
        "added": added,
        "removed": removed,
        "changed": changed,
        "kpi_difference": kpi_difference,
    }


async def restore_version(
    db: Database, rooms: RoomRegistry, account: Account, version_id: int
) -> dict[str, Any]:
    """Make the live document's edits equal to the version's (editor of its scenario).

    One change through the room: edits the version lacks are deleted, the version's edits that differ or
    are missing are set as they were saved (with their authors). When anything changed, the edits as they
    were just before are saved as a version "before restoring vN" (its document is the room's, taken in the
    same step). Raises :class:`NotFound` (no such version, or private to the caller) and
    :class:`~metaliverpool.service.access.AccessDenied` (a viewer).
    """

    def read(session: Session) -> tuple[int, int, dict[str, Any]]:
        version = get_version(session, account, version_id)
        require_scenario(session, version.scenario_id, account.user_id, "editor")
        return version.scenario_id, version.number, json.loads(version.edits_json)

    scenario_id, number, target = await anyio.to_thread.run_sync(db.run, read)
    counts = {"added": 0, "removed": 0, "changed": 0}
    before: list[Doc] = []

    def mutate(doc: Doc) -> None:
        current = read_edits(doc)
        snapshot: Doc = Doc()
        snapshot.apply_update(doc.get_update())
        before.append(snapshot)
        edits = doc.get("edits", type=Map)
        for key in sorted(set(current) - set(target)):
            del edits[key]
            counts["removed"] += 1
        for key, entry in sorted(target.items()):
            if current.get(key) != entry:
                counts["added" if key not in current else "changed"] += 1
                edits[key] = entry

    def rights(session: Session) -> None:  # read again in the session that stores the change
        require_scenario(session, scenario_id, account.user_id, "editor")

    await rooms.change(scenario_id, mutate, account.user_id, rights)

    def describe(session: Session) -> tuple[dict[str, Any], dict[str, Any] | None]:
        saved = None
        if any(counts.values()):
            name = f"before restoring v{number}"
            saved = describe_version(session, store_version(session, account, scenario_id, name, before[0]))
        return describe_version(session, get_version(session, account, version_id)), saved

    restored, saved = await anyio.to_thread.run_sync(db.run, describe)
    return {"scenario_id": scenario_id, "restored": restored, **counts, "before": saved}
