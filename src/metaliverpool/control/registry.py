"""Controller names and how to make each one for a network and its demand.

``fixed`` Webster-timed fixed time, ``fixed-30`` fixed time with 30 s greens (the ``FixedTime`` baseline
of the CityFlow signal-control papers), ``actuated`` gap-out, ``max-pressure``, ``lookahead`` (ours).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from metaliverpool.control.actuated import ActuatedController
from metaliverpool.control.fixed import WebsterFixedTimeController
from metaliverpool.control.lookahead import LookAheadController
from metaliverpool.control.pressure import MaxPressureController
from metaliverpool.errors import InputError
from metaliverpool.sim.control_api import SignalController, SignalSafetyConfig
from metaliverpool.sim.network import SimNetwork

CONTROLLER_NAMES: tuple[str, ...] = ("fixed", "fixed-30", "actuated", "max-pressure", "lookahead")


def parse_controller_names(text: str | None, source: str = "--controllers") -> tuple[str, ...]:
    """Comma-separated names checked against :data:`CONTROLLER_NAMES` (all of them when ``None``)."""
    if text is None:
        return CONTROLLER_NAMES
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in CONTROLLER_NAMES]
    if not names or unknown:
        raise InputError(
            source, f"unknown controller {unknown or text!r}; expected some of {', '.join(CONTROLLER_NAMES)}"
        )
    return names


def make_controller(
    name: str,
    network: SimNetwork,
    turn_flow_vph: npt.NDArray[np.float64],
    safety: SignalSafetyConfig,
) -> SignalController:
    """A fresh controller; ``turn_flow_vph`` (per network turn) times the fixed plans."""
    if name == "fixed":
        return WebsterFixedTimeController(network, turn_flow_vph, safety)
    if name == "fixed-30":
        return WebsterFixedTimeController(network, turn_flow_vph, safety, equal_green_s=30.0)
    if name == "actuated":
        return ActuatedController(network)
    if name == "max-pressure":
        return MaxPressureController(network)
    if name == "lookahead":
        return LookAheadController(network, safety)
    raise InputError(
        "controller", f"unknown controller {name!r}; expected one of {', '.join(CONTROLLER_NAMES)}"
    )
