"""Emissions per link from speed-dependent emission factors (COPERT functional forms).

Per row (``equation``), in grams per vehicle-kilometre with ``v`` the link's mean speed in km/h clamped to
the row's validity range:

- ``copert5`` (default): ``(alpha v^2 + beta v + gamma + delta / v) / (epsilon v^2 + zeta v + eta) *
  (1 - reduction)``;
- ``poly5``: ``alpha v^5 + beta v^4 + gamma v^3 + delta v^2 + epsilon v + zeta``.

Coefficients are data (``metrics/data/emission_curves.csv``, its header states the source); a vehicle class
may have several rows per pollutant (segments, Euro standards) weighted by ``fleet_share``.

Emissions of a link = factor at the link's mean speed x vehicle-km on it; totals are sums over links.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from io import StringIO
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from metaliverpool.errors import InputError

FloatArray = npt.NDArray[np.float64]

POLLUTANTS = ("co2", "nox", "pm25")
"""Pollutants reported: carbon dioxide, nitrogen oxides, exhaust PM2.5 (grams)."""

EQUATIONS = ("copert5", "poly5")
"""Functional forms of a coefficient row (module docstring)."""

_COLUMNS = (
    "vehicle_class",
    "pollutant",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "reduction",
    "v_min_kmh",
    "v_max_kmh",
    "fleet_share",
)


@dataclass(frozen=True)
class EmissionCurves:
    """The coefficient table (one row per class, pollutant and fleet segment) and where it came from."""

    table: pd.DataFrame
    source: str

    def factor_g_per_km(
        self, pollutant: str, speed_kmh: npt.ArrayLike, vehicle_class: str = "car"
    ) -> FloatArray:
        """Fleet-weighted emission factor (g/veh-km) at each speed (km/h)."""
        rows = self.table[
            (self.table["pollutant"] == pollutant) & (self.table["vehicle_class"] == vehicle_class)
        ]
        if rows.empty:
            raise InputError(self.source, f"no emission curve for {vehicle_class} {pollutant}")
        speed = np.asarray(speed_kmh, dtype=np.float64)
        total = np.zeros_like(speed)
        coefficients = rows[list(_COLUMNS[2:])].to_numpy(dtype=np.float64)
        equations = rows["equation"].to_numpy() if "equation" in rows else np.full(len(rows), "copert5")
        for equation, row in zip(equations, coefficients, strict=True):
            alpha, beta, gamma, delta, epsilon, zeta, eta, reduction, v_min, v_max, share = row
            v = np.clip(speed, v_min, v_max)
            if equation == "poly5":
                factor = ((((alpha * v + beta) * v + gamma) * v + delta) * v + epsilon) * v + zeta
            else:
                numerator = alpha * v**2 + beta * v + gamma + delta / v
                factor = numerator / (epsilon * v**2 + zeta * v + eta) * (1.0 - reduction)
            total += share * factor
        return total


def load_emission_curves(path: Path | None = None) -> EmissionCurves:
    """Read a coefficient CSV (default: the packaged ``emission_curves.csv``); ``#`` lines are comments."""
    if path is None:
        resource = resources.files("metaliverpool.metrics").joinpath("data/emission_curves.csv")
        text = resource.read_text(encoding="utf-8")
        source = "metaliverpool/metrics/data/emission_curves.csv"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise InputError(path, f"cannot read emission curves: {error}") from None
        source = str(path)
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    table = pd.read_csv(StringIO("\n".join(lines)))
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise InputError(source, f"missing columns {missing}")
    if "equation" in table.columns:
        unknown = sorted(set(table["equation"]) - set(EQUATIONS))
        if unknown:
            raise InputError(source, f"unknown equation {unknown}; expected one of {', '.join(EQUATIONS)}")
    for (vehicle_class, pollutant), group in table.groupby(["vehicle_class", "pollutant"]):
        share = float(group["fleet_share"].sum())
        if abs(share - 1.0) > 1e-6:
            raise InputError(
                source, f"fleet shares of {vehicle_class} {pollutant} sum to {share:g}, expected 1"
            )
    return EmissionCurves(table=table, source=source)


def link_emissions(
    vehicle_km: npt.ArrayLike, speed_kmh: npt.ArrayLike, curves: EmissionCurves, vehicle_class: str = "car"
) -> pd.DataFrame:
    """Grams of each pollutant per link: ``factor(speed) * vehicle_km`` (columns ``co2_g``, ``nox_g``, ...).

    Links with no traffic (``vehicle_km == 0``) emit nothing whatever their speed.
    """
    vkm = np.asarray(vehicle_km, dtype=np.float64)
    speed = np.asarray(speed_kmh, dtype=np.float64)
    safe_speed = np.where(np.isfinite(speed) & (speed > 0), speed, 1.0)
    out = {}
    for pollutant in POLLUTANTS:
        factor = curves.factor_g_per_km(pollutant, safe_speed, vehicle_class)
        out[f"{pollutant}_g"] = np.where(vkm > 0, factor * vkm, 0.0)
    return pd.DataFrame(out)
