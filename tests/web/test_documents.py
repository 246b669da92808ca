"""The scenario document's entry checks: times are finite numbers (a NaN was rewritten on every sync)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from metaliverpool.service.documents import check_comment_entry, check_edit_entry
from web.protocol import close_road, edit_entry


def comment(created_at_s: Any) -> dict[str, Any]:
    return {
        "text": "ok",
        "author": "amy",
        "created_at_s": created_at_s,
        "lon": None,
        "lat": None,
        "parent": None,
        "resolved": False,
    }


@pytest.mark.parametrize("created_at_s", [math.nan, math.inf, -math.inf, "1", None, True])
def test_a_time_that_is_not_a_finite_number_is_refused(created_at_s: Any) -> None:
    entry = edit_entry(close_road(1001), "amy", created_at_s)
    assert check_edit_entry("e1", entry, None, "amy") == "created_at_s must be a finite number"
    assert check_comment_entry("c1", comment(created_at_s), None, "amy", {}) == (
        "created_at_s must be a finite number"
    )


@pytest.mark.parametrize("created_at_s", [0, 1765100000.25])
def test_finite_times_pass(created_at_s: float) -> None:
    assert check_edit_entry("e1", edit_entry(close_road(1001), "amy", created_at_s), None, "amy") is None
    assert check_comment_entry("c1", comment(created_at_s), None, "amy", {}) is None
