"""The live state and the signal loop's audit in PostgreSQL (beside the archive of live Observations).

Tables (created by :meth:`LiveStateStore.ensure_schema`):

- ``live_state``: one row per refresh of the network state (``service.live_state``): the feed time it
  describes, the twin and the state as JSON (``payload``).
- ``signal_proposal``: one row per retiming the loop proposed (``service.signal_desk``): the junction
  (id, OSM node, name by its streets), the period it was simulated for, the current and proposed plans,
  the simulated effect with and without it, the status (``proposed``, ``approved``, ``rejected``), who
  decided and when, when it was published, and its outcome.
- ``signal_audit``: every event of a proposal (``proposed``, ``approved``, ``rejected``, ``published``,
  ``outcome``) with who (``loop`` for the loop itself, else the account name), when and a JSON detail.
  Rows are only ever added.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from metaliverpool.store.live_archive import psycopg_url

_SCHEMA = """
CREATE TABLE IF NOT EXISTS live_state (
    refreshed timestamptz PRIMARY KEY,
    twin_id text NOT NULL,
    payload jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS signal_proposal (
    proposal_id bigserial PRIMARY KEY,
    twin_id text NOT NULL,
    junction_id bigint NOT NULL,
    osm_node_id bigint NOT NULL,
    junction_name text NOT NULL,
    created timestamptz NOT NULL,
    period_start timestamptz NOT NULL,
    period_s double precision NOT NULL,
    current_plan jsonb NOT NULL,
    proposed_plan jsonb NOT NULL,
    effect jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('proposed', 'approved', 'rejected')),
    decided_by text,
    decided_at timestamptz,
    published_at timestamptz,
    outcome jsonb
);
CREATE TABLE IF NOT EXISTS signal_audit (
    audit_id bigserial PRIMARY KEY,
    proposal_id bigint NOT NULL REFERENCES signal_proposal (proposal_id),
    event text NOT NULL CHECK (event IN ('proposed', 'approved', 'rejected', 'published', 'outcome')),
    actor text NOT NULL,
    at timestamptz NOT NULL,
    detail jsonb NOT NULL
);
"""

_PROPOSAL_COLUMNS = (
    "proposal_id, twin_id, junction_id, osm_node_id, junction_name, created, period_start, period_s, "
    "current_plan, proposed_plan, effect, status, decided_by, decided_at, published_at, outcome"
)

_TIMES = {
    "created": "created_unix_s",
    "period_start": "period_start_unix_s",
    "decided_at": "decided_unix_s",
    "published_at": "published_unix_s",
}
"""Time columns and their names (Unix seconds) in a proposal's JSON."""


def _utc(unix_s: float) -> datetime:
    return datetime.fromtimestamp(unix_s, UTC)


def _unix(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


@dataclass(frozen=True)
class NewProposal:
    """A retiming to record: junction, period (Unix s, s), plans and effect (JSON-ready)."""

    twin_id: str
    junction_id: int
    osm_node_id: int
    junction_name: str
    period_start_unix_s: float
    period_s: float
    current_plan: dict[str, Any]
    proposed_plan: dict[str, Any]
    effect: dict[str, Any]


class DecisionConflict(Exception):
    """The proposal is not waiting for a decision (decided already, or unknown)."""


class LiveStateStore:
    """One connection to the live database (not shared between threads)."""

    def __init__(self, url: str) -> None:
        self.connection = psycopg.connect(psycopg_url(url), autocommit=False)

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    def ensure_schema(self) -> None:
        """Create the tables if they do not exist."""
        with self.connection.cursor() as cursor:
            cursor.execute(_SCHEMA)
        self.connection.commit()

    def save_state(self, twin_id: str, refreshed_unix_s: float, payload: dict[str, Any]) -> None:
        """Record one refresh (a repeat of the same time replaces it)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO live_state VALUES (%s, %s, %s) ON CONFLICT (refreshed) "
                "DO UPDATE SET twin_id = EXCLUDED.twin_id, payload = EXCLUDED.payload",
                (_utc(refreshed_unix_s), twin_id, json.dumps(payload)),
            )
        self.connection.commit()

    def latest_state(self, twin_id: str, after_unix_s: float | None = None) -> dict[str, Any] | None:
        """The newest state of a twin (only if newer than ``after_unix_s``), or None."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT payload FROM live_state WHERE twin_id = %s AND refreshed > %s "
                "ORDER BY refreshed DESC LIMIT 1",
                (twin_id, _utc(after_unix_s if after_unix_s is not None else 0.0)),
            )
            row = cursor.fetchone()
        self.connection.commit()
        return None if row is None else dict(row[0])

    def add_proposal(self, proposal: NewProposal, at_unix_s: float) -> int:
        """Record a proposal and its ``proposed`` audit row; returns its id."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO signal_proposal (twin_id, junction_id, osm_node_id, junction_name, created, "
                "period_start, period_s, current_plan, proposed_plan, effect, status) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'proposed') RETURNING proposal_id",
                (
                    proposal.twin_id,
                    proposal.junction_id,
                    proposal.osm_node_id,
                    proposal.junction_name,
                    _utc(at_unix_s),
                    _utc(proposal.period_start_unix_s),
                    proposal.period_s,
                    json.dumps(proposal.current_plan),
                    json.dumps(proposal.proposed_plan),
                    json.dumps(proposal.effect),
                ),
            )
            (proposal_id,) = cursor.fetchone() or (0,)
            self._audit(cursor, int(proposal_id), "proposed", "loop", at_unix_s, {})
        self.connection.commit()
        return int(proposal_id)

    def _audit(
        self, cursor: psycopg.Cursor, proposal_id: int, event: str, actor: str, at_unix_s: float, detail: Any
    ) -> None:
        cursor.execute(
            "INSERT INTO signal_audit (proposal_id, event, actor, at, detail) VALUES (%s, %s, %s, %s, %s)",
            (proposal_id, event, actor, _utc(at_unix_s), json.dumps(detail)),
        )

    def decide(self, proposal_id: int, approve: bool, actor: str, at_unix_s: float, note: str = "") -> None:
        """Approve or reject a waiting proposal (one transaction with its audit row); raises
        :class:`DecisionConflict` when it is not waiting."""
        status = "approved" if approve else "rejected"
        with self.connection.cursor() as cursor:
            cursor.execute(
                "UPDATE signal_proposal SET status = %s, decided_by = %s, decided_at = %s "
                "WHERE proposal_id = %s AND status = 'proposed' RETURNING proposal_id",
                (status, actor, _utc(at_unix_s), proposal_id),
            )
            if cursor.fetchone() is None:
                self.connection.rollback()
                raise DecisionConflict(f"proposal {proposal_id} is not waiting for a decision")
            self._audit(cursor, proposal_id, status, actor, at_unix_s, {"note": note} if note else {})
        self.connection.commit()

    def mark_published(self, proposal_id: int, actor: str, at_unix_s: float, detail: dict[str, Any]) -> None:
        """Record that an approved plan was published (where to, in ``detail``)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "UPDATE signal_proposal SET published_at = %s WHERE proposal_id = %s",
                (_utc(at_unix_s), proposal_id),
            )
            self._audit(cursor, proposal_id, "published", actor, at_unix_s, detail)
        self.connection.commit()

    def record_outcome(self, proposal_id: int, at_unix_s: float, outcome: dict[str, Any]) -> None:
        """Record what was observed after a published plan's period."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "UPDATE signal_proposal SET outcome = %s WHERE proposal_id = %s",
                (json.dumps(outcome), proposal_id),
            )
            self._audit(cursor, proposal_id, "outcome", "loop", at_unix_s, outcome)
        self.connection.commit()

    def proposals(self, twin_id: str, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest proposals of a twin (all, or those of one status), newest first, JSON-ready."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {_PROPOSAL_COLUMNS} FROM signal_proposal WHERE twin_id = %s "
                "AND (%s::text IS NULL OR status = %s) ORDER BY proposal_id DESC LIMIT %s",
                (twin_id, status, status, limit),
            )
            rows = cursor.fetchall()
        self.connection.commit()
        return [self._proposal(row) for row in rows]

    def proposal(self, proposal_id: int) -> dict[str, Any] | None:
        """One proposal, or None."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {_PROPOSAL_COLUMNS} FROM signal_proposal WHERE proposal_id = %s", (proposal_id,)
            )
            row = cursor.fetchone()
        self.connection.commit()
        return None if row is None else self._proposal(row)

    @staticmethod
    def _proposal(row: tuple[Any, ...]) -> dict[str, Any]:
        names = [c.strip() for c in _PROPOSAL_COLUMNS.split(",")]
        record = dict(zip(names, row, strict=True))
        for key, name in _TIMES.items():
            record[name] = _unix(record.pop(key))
        return record

    def audit(self, proposal_id: int | None = None) -> list[dict[str, Any]]:
        """Audit rows (of one proposal, or all), oldest first."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT audit_id, proposal_id, event, actor, at, detail FROM signal_audit "
                "WHERE %s::bigint IS NULL OR proposal_id = %s ORDER BY audit_id",
                (proposal_id, proposal_id),
            )
            rows = cursor.fetchall()
        self.connection.commit()
        return [
            {
                "audit_id": a,
                "proposal_id": p,
                "event": e,
                "actor": who,
                "at_unix_s": at.timestamp(),
                "detail": d,
            }
            for a, p, e, who, at, d in rows
        ]
