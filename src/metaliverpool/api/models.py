"""Request bodies and parameters of the REST API (pydantic; unknown fields are refused with 422), and the
error body every refusal has.

Every text passes :func:`clean_text` (no NUL, no lone surrogate, no control character other than tab,
newline and carriage return: PostgreSQL cannot store NUL, and a lone surrogate cannot be encoded as UTF-8)
and has a maximum length. Ids are 1..:data:`MAX_ID`, the range of the database's integer columns.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from metaliverpool.edits.schema import PolygonArea
from metaliverpool.service.challenges import MAX_SOLUTION_CHARS
from metaliverpool.service.documents import MAX_COMMENT_CHARS
from metaliverpool.service.public_comments import MAX_ANSWER_CHARS, MAX_PUBLIC_COMMENT_CHARS
from metaliverpool.service.scenarios import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS

MAX_ID = 2**31 - 1
"""The largest id (the database's ``INTEGER`` columns are 32-bit on PostgreSQL)."""
MAX_SEED = 2**32 - 1
"""The largest random seed (numpy seeds are 32-bit unsigned)."""

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` if it holds no NUL, other control character (tab, newline and carriage return allowed)
    or lone surrogate; else a ``ValueError`` naming the character."""
    found = _FORBIDDEN.search(value)
    if found is not None:
        raise ValueError(f"character U+{ord(found.group()):04X} is not allowed")
    return value


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(clean_text)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS), AfterValidator(clean_text)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

ScenarioId = Annotated[int, Path(ge=1, le=MAX_ID, description="A scenario id.")]
VersionId = Annotated[int, Path(ge=1, le=MAX_ID, description="A version id.")]
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="A run id.")]
PathName = Annotated[str, Path(min_length=1, max_length=100), AfterValidator(clean_text)]
"""A name in a path (user, twin, layer, comment, model, output file)."""
QueryId = Annotated[int, Query(ge=1, le=MAX_ID)]


class ErrorBody(BaseModel):
    """What every refusal from the services answers: one message naming the field or the reason."""

    detail: str


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(_Body):
    """Sign-up and sign-in."""

    name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(clean_text)] = Field(
        description="2-40 letters, digits, '_', '.' or '-'"
    )
    password: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(clean_text)] = Field(
        description="10-200 characters, not only whitespace, not containing the name, not a common password"
    )


class ScenarioCreate(_Body):
    """A new scenario on a twin."""

    twin_id: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(clean_text)]
    name: Name
    description: Description = ""
    visibility: Literal["private", "shared"] = "private"


class ScenarioPatch(_Body):
    """Changes to a scenario's settings (visibility needs the owner)."""

    name: Name | None = None
    description: Description | None = None
    visibility: Literal["private", "shared"] | None = None


class MemberRole(_Body):
    """A member's role."""

    role: Literal["editor", "viewer"]


class VersionCreate(_Body):
    """A named version."""

    name: Name


class ForkCreate(_Body):
    """The name of the scenario a fork creates."""

    name: Name


class CommentCreate(_Body):
    """A comment, pinned at lon/lat (degrees) or not, optionally replying to another."""

    text: Annotated[str, Field(min_length=1, max_length=MAX_COMMENT_CHARS), AfterValidator(clean_text)]
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    parent: Annotated[str, Field(max_length=100), AfterValidator(clean_text)] | None = None


class CommentPatch(_Body):
    """Resolve or reopen a comment."""

    resolved: bool


class RunCreate(_Body):
    """Start a run of the current edits (or of a saved version) against its baseline.

    ``seeds``: the random seeds (the same for baseline and scenario), each 0..2^32-1; ``engine``:
    ``dynamic`` (the simulator) or ``static`` (equilibrium assignment); ``decompose``: with an AI signal
    loop, also report the package without the loop and what the loop adds. Unset fields take the scenario
    format's defaults.
    """

    version_id: Id | None = None
    seeds: list[Annotated[int, Field(ge=0, le=MAX_SEED)]] | None = Field(
        default=None, min_length=1, max_length=20
    )
    engine: Literal["dynamic", "static"] | None = None
    decompose: bool | None = None


class EditsCheck(_Body):
    """Check edits against the scenario's twin and an engine (``POST /api/scenarios/{id}/check``).

    ``edits``: edits of the scenario format, in the editor's order (numbered 1, 2, ... in the answer);
    omitted: the scenario's current edits. ``engine``: the engine the run will use.
    """

    edits: list[dict[str, Any]] | None = Field(default=None, max_length=500)
    engine: Literal["dynamic", "static"] = "dynamic"


HighwayClass = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]
"""An OSM ``highway`` value (``residential``)."""


class LtnPreview(_Body):
    """A drawn low-traffic neighbourhood to preview (``POST /api/twins/{id}/ltn``): its ``area`` (GeoJSON
    ``Polygon``, lon/lat) and the classes of street it filters (default as the edit's)."""

    area: PolygonArea
    minor_highways: list[HighwayClass] | None = Field(default=None, min_length=1, max_length=12)


class Publication(_Body):
    """Publish a scenario for public consultation (``true``) or withdraw it (``false``)."""

    published: bool


class _Solved(_Body):
    """A solved proof-of-work challenge (``GET /api/public/challenge``): ``solution`` such that
    SHA-256 of ``"<challenge>:<solution>"`` starts with the challenge's number of zero bits."""

    challenge: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    solution: Annotated[str, Field(pattern=r"^[0-9A-Za-z]+$", min_length=1, max_length=MAX_SOLUTION_CHARS)]


class PublicCommentCreate(_Solved):
    """A visitor's comment at a point (lon/lat degrees, inside the scenario's area)."""

    text: Annotated[str, Field(min_length=1, max_length=MAX_PUBLIC_COMMENT_CHARS), AfterValidator(clean_text)]
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class ReactionPut(_Solved):
    """A visitor's support or opposition (``null`` withdraws it); one per visitor per scenario."""

    stance: Literal["support", "oppose"] | None


class Moderation(_Body):
    """The owner's decision on a public comment and/or the answer shown under it (``null`` removes it)."""

    status: Literal["pending", "approved", "rejected"] | None = None
    answer: Annotated[str, Field(max_length=MAX_ANSWER_CHARS), AfterValidator(clean_text)] | None = None
