"""``metaliverpool forecast history``, ``forecast evaluate`` and ``forecast train``.

``history`` simulates many days on a twin (``metaliverpool.predict.twin_history``) and writes the link
speed (or flow) series, with its events and sensor adjacency, as one ``.npz``. ``evaluate`` splits a
sensor series chronologically (train/validation/test), fits each model and prints one JSON line last:
per model and horizon the MAE, RMSE, MAPE and skill against persistence on the test part, the model
each learned model uses per horizon (chosen on validation) and each model's training time.
``train`` fits one model on the training part, scores it on the validation part and saves it with its
metadata, its free-flow references and the held-out test days as its replay feed
(``metaliverpool.predict.model_io``); saved into ``TWIN/forecasts/NAME`` it is what the server's map
shows as "congestion in 30 minutes". It prints one JSON line last with the path. Series layout:
``metaliverpool.predict.series``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from metaliverpool.errors import InputError
from metaliverpool.predict.baselines import PersistenceForecaster
from metaliverpool.predict.evaluate import (
    ForecastConfig,
    evaluate_forecasters,
    fit_timed,
    horizon_label,
    prepare_problem,
    with_skill,
)
from metaliverpool.predict.model_io import save_model
from metaliverpool.predict.registry import MODEL_NAMES, make_forecaster, parse_model_names
from metaliverpool.predict.scoring import score_forecast
from metaliverpool.predict.selection import GuardedForecaster
from metaliverpool.predict.series import load_adjacency, load_series, save_series_npz
from metaliverpool.predict.snapshot import held_out_feed, reference_values


def register(app: typer.Typer) -> None:
    """Add the ``forecast`` command group to ``app``."""
    group = typer.Typer(
        help="Congestion forecasting: evaluate models on a sensor series, train and save one."
    )
    group.command(name="history", help="Simulate days on a twin; write its link-speed series (.npz).")(
        history_command
    )
    group.command(name="evaluate", help="Score every model per horizon on the test part (JSON line last).")(
        evaluate_command
    )
    group.command(name="train", help="Train one model and save it with its metadata (JSON line last).")(
        train_command
    )
    app.add_typer(group, name="forecast")


def parse_horizons(text: str) -> tuple[float, ...]:
    """``"15,30,60"`` -> (15.0, 30.0, 60.0), sorted."""
    try:
        values = sorted({float(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise InputError("--horizons", f"expected comma-separated minutes, got {text!r}") from None
    if not values:
        raise InputError("--horizons", "give at least one horizon in minutes")
    return tuple(values)


def _split(text: str | None) -> tuple[float, float]:
    if text is None:
        return 0.7, 0.1
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        raise InputError("--split", f"expected TRAIN,VAL fractions such as 0.7,0.1; got {text!r}") from None
    if len(parts) not in (2, 3):
        raise InputError("--split", f"expected TRAIN,VAL[,TEST] fractions; got {text!r}")
    return parts[0], parts[1]


def evaluate_command(
    series: Path = typer.Option(
        ..., "--series", help="CSV (sensor ids in row 1), .npz with 'data' or DCRNN .h5."
    ),
    interval_min: float = typer.Option(..., "--interval-min", help="Minutes between rows."),
    adjacency: Path | None = typer.Option(
        None, "--adjacency", help=".npz 'adjacency', CSV from,to[,weight] or N x N matrix CSV."
    ),
    horizons: str = typer.Option("15,30,60", "--horizons", help="Forecast horizons in minutes."),
    models: str = typer.Option(",".join(MODEL_NAMES), "--models", help=f"Some of {', '.join(MODEL_NAMES)}."),
    split: str | None = typer.Option(None, "--split", help="TRAIN,VAL fractions (default 0.7,0.1)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the learned models."),
    lookback: int = typer.Option(12, "--lookback", help="Rows of recent history the models read."),
    start_time_s: float | None = typer.Option(
        None, "--start-time-s", help="Seconds after Monday 00:00 of the first row (default 0 or the .npz's)."
    ),
    max_train_s: float = typer.Option(300.0, "--max-train-s", help="Time budget of the neural model (s)."),
) -> None:
    """Evaluate and print the JSON line."""
    names = parse_model_names(models)
    data = load_series(series, interval_min, start_time_s)
    matrix = None if adjacency is None else load_adjacency(adjacency, data.sensor_ids)
    train_frac, val_frac = _split(split)
    config = ForecastConfig(parse_horizons(horizons), lookback, train_frac, val_frac, seed, max_train_s)
    result = evaluate_forecasters(data, names, config, matrix)
    summary = {"series": str(series), "sensors": data.n_sensors, "steps": data.n_steps, **result.as_dict()}
    print(json.dumps(_finite(summary), allow_nan=False, default=str))


def _finite(value: object) -> object:
    """``value`` with every non-finite float (a MAPE or skill with nothing to divide by) as None, for
    strict JSON."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def train_command(
    series: Path = typer.Option(
        ..., "--series", help="CSV (sensor ids in row 1), .npz with 'data' or DCRNN .h5."
    ),
    interval_min: float = typer.Option(..., "--interval-min", help="Minutes between rows."),
    out: Path = typer.Option(..., "--out", help="Folder to write the model to (replaced atomically)."),
    model: str = typer.Option("stid", "--model", help=f"One of {', '.join(MODEL_NAMES)}."),
    adjacency: Path | None = typer.Option(
        None, "--adjacency", help=".npz 'adjacency', CSV from,to[,weight] or N x N matrix CSV."
    ),
    horizons: str = typer.Option("15,30,60", "--horizons", help="Forecast horizons in minutes."),
    quantity: str = typer.Option("speed_mps", "--quantity", help="What the series measures (with its unit)."),
    split: str | None = typer.Option(None, "--split", help="TRAIN,VAL fractions (default 0.7,0.1)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    lookback: int = typer.Option(12, "--lookback", help="Rows of recent history the model reads."),
    start_time_s: float | None = typer.Option(
        None, "--start-time-s", help="Seconds after Monday 00:00 of row 1."
    ),
    max_train_s: float = typer.Option(300.0, "--max-train-s", help="Time budget of the neural model (s)."),
) -> None:
    """Train, score on validation, save, print the JSON line."""
    (name,) = parse_model_names(model, "--model")[:1]
    data = load_series(series, interval_min, start_time_s)
    matrix = None if adjacency is None else load_adjacency(adjacency, data.sensor_ids)
    train_frac, val_frac = _split(split)
    config = ForecastConfig(parse_horizons(horizons), lookback, train_frac, val_frac, seed, max_train_s)
    problem, bounds = prepare_problem(data, config, matrix)
    forecaster = make_forecaster(name, max_train_s)
    train_time_s = fit_timed(forecaster, problem, bounds, seed)
    origins = problem.origins_between(bounds.train_end, bounds.val_end)
    validation = {}
    if origins.size:
        observed = problem.targets(origins)

        def scored(predicted: np.ndarray) -> dict[str, dict[str, float]]:
            return {
                horizon_label(m): score_forecast(predicted[:, k, :], observed[:, k, :])
                for k, m in enumerate(config.horizons_min)
            }

        persistence = scored(PersistenceForecaster().predict(problem, origins))
        validation = with_skill(scored(forecaster.predict(problem, origins)), persistence)
    labels = [horizon_label(m) for m in config.horizons_min]
    choice = (
        dict(zip(labels, forecaster.choice, strict=True))
        if isinstance(forecaster, GuardedForecaster)
        else dict.fromkeys(labels, name)
    )
    metadata = {
        "sensor_ids": list(data.sensor_ids),
        "interval_s": data.interval_s,
        "horizons_min": list(config.horizons_min),
        "lookback_steps": lookback,
        "quantity": quantity,
        "trained_on": {
            "source": str(series),
            "rows": [0, bounds.train_end],
            "validation_rows": [bounds.train_end, bounds.val_end],
        },
        "start_time_s": data.start_time_s,
        "seed": seed,
        "train_time_s": round(train_time_s, 3),
        "validation": _finite(validation),
        "choice": choice,
        "adjacency": adjacency is not None,
        "reference": [round(float(v), 4) for v in reference_values(data, bounds.train_end)],
        "reference_rule": "95th percentile of the training rows per sensor (free-flow value)",
    }
    path = save_model(
        out, forecaster, metadata, problem.neighbour_weights, held_out_feed(data, bounds.val_end)
    )
    print(
        json.dumps(
            _finite(
                {
                    "model": name,
                    "path": str(path),
                    "train_time_s": round(train_time_s, 3),
                    "validation": validation,
                    "choice": choice,
                }
            ),
            allow_nan=False,
        )
    )


def history_command(
    twin: Path = typer.Option(..., "--twin", help="Twin bundle folder."),
    out: Path = typer.Option(..., "--out", help=".npz to write (data, sensor_ids, events, adjacency)."),
    days: int = typer.Option(28, "--days", help="Simulated days (the first is a Monday)."),
    sensors: int = typer.Option(40, "--sensors", help="Sensor links: the ones with most routed vehicles."),
    demand_scale: float = typer.Option(0.22, "--demand-scale", help="Share of the twin's trips per day."),
    interval_min: float = typer.Option(5.0, "--interval-min", help="Minutes between rows."),
    seed: int = typer.Option(0, "--seed", help="Seed of demand variation, incidents and roadworks."),
    quantity: str = typer.Option("speed_mps", "--quantity", help="speed_mps (m/s) or flow_vph (veh/h)."),
) -> None:
    """Simulate, write the .npz, print one JSON line."""
    from metaliverpool.cli.progress import progress_bar
    from metaliverpool.predict.twin_history import TwinHistoryConfig, simulate_twin_history
    from metaliverpool.store.bundle import read_twin

    if days < 2 or sensors < 1:
        raise InputError("--days/--sensors", f"need at least 2 days and 1 sensor, got {days} and {sensors}")
    if quantity not in ("speed_mps", "flow_vph"):
        raise InputError("--quantity", f"expected speed_mps or flow_vph, got {quantity!r}")
    if out.suffix.lower() != ".npz":
        raise InputError(out, "the history is written as .npz; give a file name ending in .npz")
    bundle = read_twin(twin)
    config = TwinHistoryConfig(
        n_days=days,
        demand_scale=demand_scale,
        n_sensors=sensors,
        interval_s=interval_min * 60.0,
        seed=seed,
    )
    with progress_bar() as progress:
        task = progress.add_task("simulating days", total=days)
        history = simulate_twin_history(bundle, config, lambda done: progress.update(task, completed=done))
    series = history.speed if quantity == "speed_mps" else history.flow
    save_series_npz(series, out, history.adjacency)
    print(
        json.dumps(
            {
                "path": str(out),
                "days": days,
                "sensors": series.n_sensors,
                "steps": series.n_steps,
                "interval_min": interval_min,
                "quantity": quantity,
                "roadwork_rows": int(np.count_nonzero(series.event_values().any(axis=1))),
            }
        )
    )
