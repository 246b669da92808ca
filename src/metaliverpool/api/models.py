"""Request bodies of the REST API (pydantic; unknown fields are refused with 422)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(_Body):
    """Sign-up and sign-in."""

    name: str = Field(description="2-40 letters, digits, '_', '.' or '-'")
    password: str = Field(description="at least 8 characters")


class ScenarioCreate(_Body):
    """A new scenario on a twin."""

    twin_id: str
    name: str
    description: str = ""
    visibility: Literal["private", "shared"] = "private"


class ScenarioPatch(_Body):
    """Changes to a scenario's settings (visibility needs the owner)."""

    name: str | None = None
    description: str | None = None
    visibility: Literal["private", "shared"] | None = None


class MemberRole(_Body):
    """A member's role."""

    role: Literal["editor", "viewer"]


class VersionCreate(_Body):
    """A named version."""

    name: str


class ForkCreate(_Body):
    """The name of the scenario a fork creates."""

    name: str


class CommentCreate(_Body):
    """A comment, pinned at lon/lat (degrees) or not, optionally replying to another."""

    text: str
    lon: float | None = None
    lat: float | None = None
    parent: str | None = None


class CommentPatch(_Body):
    """Resolve or reopen a comment."""

    resolved: bool


class RunCreate(_Body):
    """Start a run of the scenario's current edits (or of a saved version) against its baseline.

    ``seeds``: the random seeds (the same for baseline and scenario); ``engine``: ``dynamic`` (the
    simulator) or ``static`` (equilibrium assignment). Unset fields take the scenario format's defaults.
    """

    version_id: int | None = None
    seeds: list[int] | None = Field(default=None, min_length=1, max_length=20)
    engine: Literal["dynamic", "static"] | None = None
