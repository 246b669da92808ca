"""Signals with a person in the loop: proposals from the forecast, decisions, publication, audit.

After each refresh of the live state (:mod:`metaliverpool.service.live_state`), :meth:`SignalDesk.propose`
picks the signalised junctions whose approaches are forecast most congested (the largest congestion
level on an approach over the forecast horizons, at least ``level_threshold``; at most ``per_round``
junctions, none with a proposal still waiting) and runs :func:`metaliverpool.control.retiming.
propose_retiming` for each on the twin's baseline case. The twin models one period (its demand's
departure window), not a clock: the counterfactual simulates the quarter hour of that window with the
most departures (``busiest_start_s``). A retiming that passes the queue-cap guardrail and saves time is
recorded as a proposal (``store.live_state_store``), named by the junction's streets, with its effect
with and without it; nothing changes on the street.

:meth:`SignalDesk.decide` records a person's approval or rejection (who and when); an approved plan is
written as a UTMC-style plan file (``plans_dir``) and published as a SensorThings Task over MQTT
(``ingest.sensorthings_tasking``), and the publication is audited.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaliverpool.atomic import write_text_atomic
from metaliverpool.control.retiming import (
    Effect,
    Retiming,
    RetimingConfig,
    TimingPlan,
    approach_links,
    propose_retiming,
)
from metaliverpool.edits.describe import junction_name
from metaliverpool.ingest.sensorthings_tasking import publish_task, site_scn, task_payload, utmc_plan
from metaliverpool.network.twin import Twin
from metaliverpool.service.live_baseline import BaselineCase
from metaliverpool.store.live_state_store import LiveStateStore, NewProposal

QUARTER_HOUR_S = 900.0


def busiest_start_s(departure_time_s: np.ndarray, period_s: float = QUARTER_HOUR_S) -> float:
    """Start (s) of the ``period_s`` window, on a 5-minute grid, with the most departures."""
    if departure_time_s.size == 0:
        return 0.0
    starts = np.arange(0.0, float(departure_time_s.max()) + 300.0, 300.0)
    counts = np.searchsorted(departure_time_s, starts + period_s) - np.searchsorted(departure_time_s, starts)
    return float(starts[int(np.argmax(counts))])


@dataclass(frozen=True)
class DeskConfig:
    """When to propose (congestion level 0..1, junctions per round) and how to retime."""

    level_threshold: float = 0.3
    per_round: int = 3
    retiming: RetimingConfig = field(default_factory=RetimingConfig)


@dataclass(frozen=True)
class Publisher:
    """Where an approved plan goes: the MQTT broker (None: no MQTT) and topic prefix, and the folder of
    plan files."""

    plans_dir: Path
    broker: tuple[str, int] | None = None
    topic_prefix: str = ""


class SignalDesk:
    """Proposals for one twin (its baseline case), recorded in a live-state store."""

    def __init__(
        self,
        twin: Twin,
        twin_id: str,
        case: BaselineCase,
        store: LiveStateStore,
        config: DeskConfig | None = None,
    ) -> None:
        self.twin = twin
        self.twin_id = twin_id
        self.case = case
        self.store = store
        self.config = config or DeskConfig()
        nodes = twin.nodes.set_index("node_id")
        self.junction_of_node = (
            nodes["junction_id"] if "junction_id" in nodes.columns else pd.Series(dtype=int)
        )
        self.osm_of_node = nodes["osm_node_id"]
        self.start_s = busiest_start_s(case.demand.departure_time_s, self.config.retiming.period_s)

    def junction_id(self, node: int) -> int:
        """The twin junction of a node (the node's own id when it has none)."""
        value = self.junction_of_node.get(node, -1)
        return int(value) if value is not None and int(value) >= 0 else node

    def ranked_signals(self, state: dict[str, Any]) -> list[tuple[int, float]]:
        """Plan signals by their approaches' largest forecast congestion level (at least the threshold),
        most congested first."""
        network, plan = self.case.network, self.case.plan
        row_of = {int(link): k for k, link in enumerate(state["link_id"])}
        forecast = np.array([v for h, v in state["level_pct"].items() if h != "0"], dtype=np.float64) / 100.0
        ranked = []
        for signal in range(plan.signal_count):
            approaches = approach_links(network, int(plan.signal_node[signal]))
            rows = [
                row_of[int(network.link_external_id[a])]
                for a in approaches
                if int(network.link_external_id[a]) in row_of
            ]
            if rows and forecast.size:
                level = float(forecast[:, rows].max())
                if level >= self.config.level_threshold:
                    ranked.append((signal, level))
        return sorted(ranked, key=lambda pair: -pair[1])

    def propose(self, state: dict[str, Any], now_unix_s: float) -> list[int]:
        """Retimings for the most congested junctions (module docstring); returns the new proposal ids."""
        waiting = {p["junction_id"] for p in self.store.proposals(self.twin_id, "proposed", limit=1000)}
        made: list[int] = []
        for signal, level in self.ranked_signals(state):
            if len(made) >= self.config.per_round:
                break
            node = int(self.case.plan.signal_node[signal])
            if self.junction_id(node) in waiting:
                continue
            retiming = propose_retiming(
                self.case.network,
                self.case.plan,
                self.case.demand,
                self.case.routes,
                signal,
                self.start_s,
                self.config.retiming,
            )
            if retiming.proposal is not None:
                made.append(self.store.add_proposal(self._record(retiming, level, now_unix_s), now_unix_s))
        return made

    def _streets(self, links: list[int]) -> list[str]:
        names = self.case.network.link_name
        return sorted({names[k] or f"link {int(self.case.network.link_external_id[k])}" for k in links})

    def _plan_json(self, timing: TimingPlan, node: int) -> dict[str, Any]:
        network, plan = self.case.network, self.case.plan
        served: list[list[int]] = []
        ins = approach_links(network, node)
        for phase in range(len(timing.green_s)):
            links = []
            for link in ins:
                offset = int(network.link_turn_offset[link])
                count = int(network.node_out_indptr[node + 1] - network.node_out_indptr[node])
                masks = plan.turn_phase_mask[offset : offset + count]
                if np.any((masks >= 0) & ((masks >> phase) & 1 == 1)):
                    links.append(link)
            served.append(links)
        return {
            "cycle_s": timing.cycle_s,
            "offset_s": timing.offset_s,
            "stages": [
                {
                    "green_s": timing.green_s[p],
                    "amber_s": timing.amber_s[p],
                    "all_red_s": timing.all_red_s[p],
                    "approaches": self._streets(served[p]),
                }
                for p in range(len(timing.green_s))
            ],
        }

    def _effect_json(self, effect: Effect) -> dict[str, Any]:
        network = self.case.network
        return {
            "travel_time_s": round(effect.travel_time_s, 1),
            "vehicles": effect.vehicles,
            "mean_travel_time_s": round(effect.travel_time_s / max(effect.vehicles, 1), 1),
            "max_queue_veh": {
                str(int(network.link_external_id[k])): q for k, q in effect.max_queue_veh.items()
            },
        }

    def _record(self, retiming: Retiming, level: float, now_unix_s: float) -> NewProposal:
        assert retiming.proposal is not None
        network = self.case.network
        node = retiming.node
        name = junction_name(self.twin.links, self.twin.nodes, int(self.osm_of_node.get(node, -1)))
        without, with_plan = retiming.without, retiming.proposal.effect
        effect = {
            "without": self._effect_json(without),
            "with": self._effect_json(with_plan),
            "saving_s": round(without.travel_time_s - with_plan.travel_time_s, 1),
            "queue_cap_veh": {
                str(int(network.link_external_id[k])): c for k, c in retiming.queue_cap_veh.items()
            },
            "approach_streets": {
                str(int(network.link_external_id[k])): self._streets([k])[0] for k in retiming.queue_cap_veh
            },
            "candidates": len(retiming.candidates),
            "breaking_queue_cap": sum(c.verdict == "breaks_queue_cap" for c in retiming.candidates),
            "forecast_level": round(level, 3),
            "twin_period_start_s": self.start_s,
        }
        return NewProposal(
            twin_id=self.twin_id,
            junction_id=self.junction_id(node),
            osm_node_id=int(self.osm_of_node.get(node, -1)),
            junction_name=name,
            period_start_unix_s=now_unix_s,
            period_s=self.config.retiming.period_s,
            current_plan=self._plan_json(retiming.current, node),
            proposed_plan=self._plan_json(retiming.proposal.timing, node),
            effect=effect,
        )


def decide_proposal(
    store: LiveStateStore,
    proposal_id: int,
    approve: bool,
    actor: str,
    publisher: Publisher,
    note: str = "",
    now_unix_s: float | None = None,
) -> dict[str, Any]:
    """Record a decision; an approved plan is written as a plan file and published (module docstring).
    Returns the proposal as it is now. Raises ``DecisionConflict`` when it is not waiting."""
    at = time.time() if now_unix_s is None else now_unix_s
    store.decide(proposal_id, approve, actor, at, note)
    proposal = store.proposal(proposal_id)
    assert proposal is not None
    if approve:
        content = utmc_plan(
            proposal["junction_id"],
            proposal["junction_name"],
            proposal_id,
            proposal["proposed_plan"],
            max(at, proposal["period_start_unix_s"]),
            proposal["period_s"],
            actor,
            at,
        )
        path = publisher.plans_dir / f"PLAN_{site_scn(proposal['junction_id'])}_{proposal_id}.json"
        write_text_atomic(path, json.dumps(content, indent=2) + "\n")
        detail: dict[str, Any] = {"plan_file": str(path)}
        if publisher.broker is not None:
            host, port = publisher.broker
            detail["mqtt_topic"] = publish_task(
                host, port, proposal["junction_id"], task_payload(content, at), prefix=publisher.topic_prefix
            )
        store.mark_published(proposal_id, actor, at, detail)
        proposal = store.proposal(proposal_id)
        assert proposal is not None
    return proposal
