"""What the server offers of the live twin: the newest state, the signal proposals, and decisions on them.

The live state loop (``metaliverpool live state``) writes states and proposals to the live database;
a server given that database (``serve --live-db``) reads them for the map and records a person's
decision. Only the accounts named as signal operators (``serve --signal-operator NAME``) may decide;
anyone signed in may look. Each call opens its own connection (the loop and several server processes
share the database).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from metaliverpool.service.access import AccessDenied, Conflict, NotFound
from metaliverpool.service.signal_desk import Publisher, decide_proposal
from metaliverpool.store.live_state_store import DecisionConflict, LiveStateStore

NOTE_MAX_CHARS = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class LiveView:
    """The live database, who may decide, and where approved plans go."""

    database_url: str
    operators: Sequence[str]
    publisher: Publisher

    def _open(self) -> LiveStateStore:
        store = LiveStateStore(self.database_url)
        store.ensure_schema()
        return store

    def state(self, twin_id: str, after_unix_s: float | None = None) -> dict[str, Any] | None:
        """The newest state of a twin (newer than ``after_unix_s``), or None."""
        store = self._open()
        try:
            return store.latest_state(twin_id, after_unix_s)
        finally:
            store.close()

    def proposals(self, twin_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The newest proposals of a twin, newest first, each with its audit trail."""
        store = self._open()
        try:
            found = store.proposals(twin_id, limit=limit)
            for proposal in found:
                proposal["audit"] = store.audit(proposal["proposal_id"])
            return found
        finally:
            store.close()

    def decide(
        self, twin_id: str, proposal_id: int, actor: str, approve: bool, note: str = ""
    ) -> dict[str, Any]:
        """Approve or reject a proposal of ``twin_id`` as ``actor`` (module docstring)."""
        if actor not in self.operators:
            raise AccessDenied(f"{actor} is not a signal operator of this server")
        if len(note) > NOTE_MAX_CHARS or _CONTROL.search(note):
            raise Conflict(f"a note is at most {NOTE_MAX_CHARS} characters with no control characters")
        store = self._open()
        try:
            proposal = store.proposal(proposal_id)
            if proposal is None or proposal["twin_id"] != twin_id:
                raise NotFound(f"twin {twin_id!r} has no signal proposal {proposal_id}")
            try:
                return decide_proposal(store, proposal_id, approve, actor, self.publisher, note)
            except DecisionConflict as error:
                raise Conflict(str(error)) from None
        finally:
            store.close()
