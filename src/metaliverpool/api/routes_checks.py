"""Edit checks: the editor asks, as each edit is made, whether the run will accept it and why not."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from metaliverpool.api.deps import AccountDep, ContextDep, SessionDep
from metaliverpool.api.errors import errors
from metaliverpool.api.models import EditsCheck, ScenarioId
from metaliverpool.service.access import require_scenario
from metaliverpool.service.documents import load_doc, ordered_edits, read_edits
from metaliverpool.service.edit_checks import check_edit_list

router = APIRouter(prefix="/api", tags=["scenarios"])


@router.post("/scenarios/{scenario_id}/check", responses=errors(401, 404, 413))
def check(
    scenario_id: ScenarioId, body: EditsCheck, context: ContextDep, session: SessionDep, account: AccountDep
) -> dict[str, Any]:
    """Check ``edits`` (or the scenario's current edits) against the scenario's twin and ``engine`` with
    the run's own checks: ``{"ok", "edits": [{"edit", "kind", "label", "title", "status", "message"}]}``,
    one entry per edit in order (``status`` ``ok`` or ``refused``; ``message`` says why, naming the
    street or junction)."""
    scenario, _ = require_scenario(session, scenario_id, account.user_id, "viewer")
    edits = body.edits
    if edits is None:
        edits = ordered_edits(read_edits(load_doc(session, scenario_id)))
    entry = context.twins.get(scenario.twin_id)
    twin = context.twins.full_twin(scenario.twin_id)
    checks = check_edit_list(twin, entry.path, edits, body.engine)
    return {
        "ok": all(check.status == "ok" for check in checks),
        "engine": body.engine,
        "edits": [check.as_dict() for check in checks],
    }
