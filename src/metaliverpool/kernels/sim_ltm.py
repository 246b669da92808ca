"""Numba kernel of the mesoscopic simulator: vehicles through a link transmission model (arrays only).

Each link has a triangular fundamental diagram (free-flow time ``L / v_f``, capacity ``q`` as a minimum
headway ``1 / q`` in seconds, backward-wave time ``L / w``, storage ``k_j L`` vehicles). In vehicle terms
(Newell's simplified kinematic wave theory; the discrete-vehicle form of Yperman's link transmission
model) vehicle ``n`` on a link obeys

* it reaches the downstream end no earlier than ``entry_n + L / v_f`` (free flow);
* it leaves no earlier than ``exit_{n-1} + 1 / q`` (downstream capacity) and, by FIFO, after ``n - 1``;
* it enters no earlier than ``entry_{n-1} + 1 / q`` (upstream capacity) and no earlier than
  ``exit_{n - S} + L / w`` where ``S`` is the storage (the backward wave: space freed at the downstream
  end reaches the upstream end after ``L / w``), so a full link blocks its upstream links (spillback).

Times are continuous (seconds, float64) and vehicles are moved in steps of ``dt_s``: in the step
``[t0, t0 + dt_s)`` every node serves, one vehicle at a time, the candidate that can cross earliest (its
move time is the latest of the three constraints above, the start of green for its movement and ``t0``),
until no candidate can cross before ``t0 + dt_s``. So the node serves approaches first-come first-served
at the stop line, each link strictly FIFO (a blocked head vehicle blocks its link), never beyond the
receiving link's supply; with all approaches queued the shares follow the approach capacities, as in the
capacity-proportional generic node model of Tampere et al. (2011). A vehicle crosses at most one node per
step and, when every free-flow time is at least ``dt_s``, its times are exact (not rounded to steps).

Unsignalised priority: a vehicle on an approach of rank > 0 may not cross within ``critical_gap_s`` after
the last rank-0 vehicle crossed the same node. Signals: a movement may cross only during green of a phase
that serves it (never in amber or all-red); a turn whose phase mask is -1 (every bit) has no stop line
(it leaves a link inside the junction box) and is never held. Signal state per junction: current phase
and its green interval, next phase and when its green starts; fixed-time plans roll over inside the
kernel.

Gridlock: with ``gridlock_timeout_s > 0`` a head vehicle that has waited that long only for lack of
space downstream is moved on to the first link of the rest of its route that has room, or, if none has,
to its destination (as SUMO's teleport: skipped links are crossed instantly, signals are not checked for
the jump); each such move is counted and recorded as an event (link -1 when the trip is ended). With 0
nothing is ever forced. Occupancy never exceeds storage in either case.

Route-choice statistics (``tt_sum_s``, ``tt_count`` per entry-time bin and link) count a vehicle's first
link from its departure time, so a queue waiting to enter a link is seen by the assignment.

Events (kinds): 0 depart (entered its first link; value = wait at the origin, s), 1 enter link,
2 arrive (value = travel time, s), 3 gridlock intervention (value = seconds waited).
"""

from __future__ import annotations

import numpy as np
from numba import njit

EVENT_DEPART = 0
EVENT_ENTER_LINK = 1
EVENT_ARRIVE = 2
EVENT_GRIDLOCK = 3

_INF = np.inf


@njit(cache=True, inline="always")
def _supply_time_s(
    link: int,
    link_n_in: np.ndarray,
    link_n_out: np.ndarray,
    link_storage_veh: np.ndarray,
    link_ring_offset: np.ndarray,
    link_ring_size: np.ndarray,
    ring_exit_s: np.ndarray,
    link_wave_time_s: np.ndarray,
    link_last_entry_s: np.ndarray,
    link_headway_s: np.ndarray,
) -> float:
    """Earliest time a new vehicle may enter ``link`` (inf while it is full)."""
    n_in = link_n_in[link]
    storage = link_storage_veh[link]
    earliest = link_last_entry_s[link] + link_headway_s[link]
    index = n_in - storage
    if index >= 0:
        if index >= link_n_out[link]:
            return _INF
        slot = link_ring_offset[link] + index % link_ring_size[link]
        wave = ring_exit_s[slot] + link_wave_time_s[link]
        if wave > earliest:
            earliest = wave
    return earliest


@njit(cache=True, inline="always")
def _green_from_s(
    signal: int,
    mask: np.int64,
    tau: float,
    step_end: float,
    sig_cur_phase: np.ndarray,
    sig_cur_green_start_s: np.ndarray,
    sig_cur_green_end_s: np.ndarray,
    sig_next_phase: np.ndarray,
    sig_next_green_start_s: np.ndarray,
) -> float:
    """Earliest time >= tau before step_end at which a movement with phase bitmask ``mask`` has green."""
    cur = sig_cur_phase[signal]
    if (mask >> cur) & 1:
        start = sig_cur_green_start_s[signal]
        g = tau if tau > start else start
        if g < sig_cur_green_end_s[signal] and g < step_end:
            return g
    nxt = sig_next_phase[signal]
    if (mask >> nxt) & 1:
        start = sig_next_green_start_s[signal]
        g = tau if tau > start else start
        if g < step_end:
            return g
    return _INF


@njit(cache=True)
def roll_signals(
    time_s: float,
    sig_adaptive: np.ndarray,
    sig_max_green_s: np.ndarray,
    sig_phase_indptr: np.ndarray,
    phase_green_s: np.ndarray,
    phase_amber_s: np.ndarray,
    phase_all_red_s: np.ndarray,
    sig_cur_phase: np.ndarray,
    sig_cur_green_start_s: np.ndarray,
    sig_cur_green_end_s: np.ndarray,
    sig_next_phase: np.ndarray,
    sig_next_green_start_s: np.ndarray,
) -> None:
    """Start every next phase whose green has begun by ``time_s`` (fixed plans and adaptive defaults)."""
    for s in range(sig_cur_phase.shape[0]):
        first = sig_phase_indptr[s]
        count = sig_phase_indptr[s + 1] - first
        if count == 0:
            continue
        while time_s >= sig_next_green_start_s[s]:
            cur = sig_next_phase[s]
            start = sig_next_green_start_s[s]
            end = start + (sig_max_green_s[s] if sig_adaptive[s] else phase_green_s[first + cur])
            sig_cur_phase[s] = cur
            sig_cur_green_start_s[s] = start
            sig_cur_green_end_s[s] = end
            nxt = (cur + 1) % count
            sig_next_phase[s] = nxt
            sig_next_green_start_s[s] = end + phase_amber_s[first + cur] + phase_all_red_s[first + cur]


@njit(cache=True)
def advance_ltm(
    step_start: int,
    step_end: int,
    dt_s: float,
    # network
    link_to_node: np.ndarray,
    link_free_time_s: np.ndarray,
    link_headway_s: np.ndarray,
    link_wave_time_s: np.ndarray,
    link_storage_veh: np.ndarray,
    link_ring_offset: np.ndarray,
    link_ring_size: np.ndarray,
    link_rank: np.ndarray,
    link_pass_depth: np.ndarray,
    node_in_indptr: np.ndarray,
    node_in_links: np.ndarray,
    node_out_indptr: np.ndarray,
    node_out_links: np.ndarray,
    node_signal: np.ndarray,
    node_critical_gap_s: np.ndarray,
    link_turn_offset: np.ndarray,
    turn_phase_mask: np.ndarray,
    # signals (state) and plans
    sig_adaptive: np.ndarray,
    sig_max_green_s: np.ndarray,
    sig_phase_indptr: np.ndarray,
    phase_green_s: np.ndarray,
    phase_amber_s: np.ndarray,
    phase_all_red_s: np.ndarray,
    sig_cur_phase: np.ndarray,
    sig_cur_green_start_s: np.ndarray,
    sig_cur_green_end_s: np.ndarray,
    sig_next_phase: np.ndarray,
    sig_next_green_start_s: np.ndarray,
    # routes and vehicles
    path_offset: np.ndarray,
    path_length: np.ndarray,
    path_links: np.ndarray,
    veh_path: np.ndarray,
    veh_depart_s: np.ndarray,
    veh_pos: np.ndarray,
    veh_link_entry_s: np.ndarray,
    veh_enter_s: np.ndarray,
    veh_arrive_s: np.ndarray,
    link_orig_indptr: np.ndarray,
    orig_vehicles: np.ndarray,
    link_orig_next: np.ndarray,
    # link state
    link_n_in: np.ndarray,
    link_n_out: np.ndarray,
    link_last_entry_s: np.ndarray,
    link_last_exit_s: np.ndarray,
    ring_vehicle: np.ndarray,
    ring_exit_s: np.ndarray,
    node_last_major_s: np.ndarray,
    # accumulators
    acc_inflow: np.ndarray,
    acc_outflow: np.ndarray,
    acc_exit_time_s: np.ndarray,
    tt_bin_s: float,
    tt_sum_s: np.ndarray,
    tt_count: np.ndarray,
    # gridlock and events
    gridlock_timeout_s: float,
    record_link_events: bool,
    ev_time_s: np.ndarray,
    ev_kind: np.ndarray,
    ev_vehicle: np.ndarray,
    ev_link: np.ndarray,
    ev_value: np.ndarray,
    counters: np.ndarray,
) -> int:
    """Advance steps ``step_start..step_end-1``; return the first step not done.

    ``counters`` (int64): [0] events written, [1] arrivals, [2] gridlock interventions, [3] departures,
    [4] vehicles that passed a held vehicle on a multi-lane link.
    The kernel stops early (at a step boundary) when the event buffers could overflow in the next step;
    the caller grows them and calls again from the returned step.
    """
    node_count = node_in_indptr.shape[0] - 1
    link_count = link_to_node.shape[0]
    held_next = np.empty(16, dtype=np.int64)
    event_capacity = ev_time_s.shape[0]
    per_step_bound = 0
    for link in range(link_count):
        per_step_bound += 2 * (int(dt_s / link_headway_s[link]) + 2)
    bins = tt_count.shape[0]
    step = step_start
    while step < step_end:
        if counters[0] + per_step_bound > event_capacity:
            return step
        t0 = step * dt_s
        t1 = t0 + dt_s
        roll_signals(
            t0,
            sig_adaptive,
            sig_max_green_s,
            sig_phase_indptr,
            phase_green_s,
            phase_amber_s,
            phase_all_red_s,
            sig_cur_phase,
            sig_cur_green_start_s,
            sig_cur_green_end_s,
            sig_next_phase,
            sig_next_green_start_s,
        )
        for node in range(node_count):
            in_first = node_in_indptr[node]
            in_count = node_in_indptr[node + 1] - in_first
            out_first = node_out_indptr[node]
            out_count = node_out_indptr[node + 1] - out_first
            signal = node_signal[node]
            while True:
                best_time = _INF
                best_key = _INF
                best_kind = -1  # 0 link head, 1 origin buffer
                best_link = -1
                best_next = -1
                best_forced = False
                best_jump = 0
                best_depth = 0
                best_wait = 0.0
                # heads of incoming links (on a multi-lane link, a vehicle of another movement may pass a
                # head that cannot move: it is in another lane)
                for a in range(in_count):
                    link = node_in_links[in_first + a]
                    occupancy = link_n_in[link] - link_n_out[link]
                    depth = occupancy if occupancy < link_pass_depth[link] else link_pass_depth[link]
                    held = 0
                    for j in range(depth):
                        slot = link_ring_offset[link] + (link_n_out[link] + j) % link_ring_size[link]
                        vehicle = ring_vehicle[slot]
                        entry = veh_link_entry_s[vehicle]
                        if entry >= t0:
                            break  # entered during this step: one node per step (and so did those behind)
                        ready = entry + link_free_time_s[link]
                        headway_ready = link_last_exit_s[link] + link_headway_s[link]
                        if headway_ready > ready:
                            ready = headway_ready
                        key = ready
                        if ready < t0:
                            ready = t0
                        if ready >= t1 or ready > best_time:
                            break  # not at the stop line yet (nor is anyone behind), or not the earliest
                        pid = veh_path[vehicle]
                        pos = veh_pos[vehicle]
                        nxt = path_links[path_offset[pid] + pos + 1] if pos + 1 < path_length[pid] else -1
                        same_lane = False
                        for h in range(held):
                            if held_next[h] == nxt:
                                same_lane = True
                        if same_lane:
                            continue  # behind a held vehicle of its own movement
                        move = ready
                        forced = False
                        wait = 0.0
                        jump = pos + 1
                        if nxt >= 0:
                            supply = _supply_time_s(
                                nxt,
                                link_n_in,
                                link_n_out,
                                link_storage_veh,
                                link_ring_offset,
                                link_ring_size,
                                ring_exit_s,
                                link_wave_time_s,
                                link_last_entry_s,
                                link_headway_s,
                            )
                            if supply == _INF and gridlock_timeout_s > 0.0 and j == 0:
                                # standing time at the stop line: since it got there or, if later,
                                # since the vehicle ahead of it left (not the time spent queueing)
                                head_since = entry + link_free_time_s[link]
                                if link_last_exit_s[link] > head_since:
                                    head_since = link_last_exit_s[link]
                                waited = t0 - head_since
                                if waited >= gridlock_timeout_s:
                                    # jump to the first link of the rest of the route with room (teleport)
                                    k = pos + 1
                                    while k < path_length[pid]:
                                        cand = path_links[path_offset[pid] + k]
                                        if link_n_in[cand] - link_n_out[cand] < link_storage_veh[cand]:
                                            break
                                        k += 1
                                    forced = True
                                    wait = waited
                                    jump = k
                                    supply = t0
                                    if k < path_length[pid]:
                                        nxt = path_links[path_offset[pid] + k]
                                        if link_last_entry_s[nxt] > supply:
                                            supply = link_last_entry_s[nxt]
                                    else:
                                        nxt = -1  # no room anywhere ahead: the trip ends here
                            if supply > move:
                                move = supply
                            if move < t1 and signal >= 0 and not forced:
                                # a turn with mask -1 (every bit) has no stop line: it is never held
                                k = 0
                                while k < out_count and node_out_links[out_first + k] != nxt:
                                    k += 1
                                mask = turn_phase_mask[link_turn_offset[link] + k]
                                if mask != -1:
                                    move = _green_from_s(
                                        signal,
                                        mask,
                                        move,
                                        t1,
                                        sig_cur_phase,
                                        sig_cur_green_start_s,
                                        sig_cur_green_end_s,
                                        sig_next_phase,
                                        sig_next_green_start_s,
                                    )
                        if move < t1 and signal < 0 and link_rank[link] > 0:
                            gap_ok = node_last_major_s[node] + node_critical_gap_s[node]
                            if gap_ok > move:
                                move = gap_ok
                        if move < t1:
                            if move < best_time or (move == best_time and key < best_key):
                                best_time = move
                                best_key = key
                                best_kind = 0
                                best_link = link
                                best_next = nxt
                                best_forced = forced
                                best_jump = jump
                                best_depth = j
                                best_wait = wait
                            break
                        if held < held_next.shape[0]:
                            held_next[held] = nxt
                            held += 1
                # vehicles waiting at this node to enter their first link
                for b in range(out_count):
                    link = node_out_links[out_first + b]
                    cursor = link_orig_next[link]
                    if cursor >= link_orig_indptr[link + 1]:
                        continue
                    vehicle = orig_vehicles[cursor]
                    ready = veh_depart_s[vehicle]
                    key = _INF  # departing vehicles yield to traffic already on the road
                    if ready < t0:
                        ready = t0
                    if ready >= t1 or ready > best_time:
                        continue
                    supply = _supply_time_s(
                        link,
                        link_n_in,
                        link_n_out,
                        link_storage_veh,
                        link_ring_offset,
                        link_ring_size,
                        ring_exit_s,
                        link_wave_time_s,
                        link_last_entry_s,
                        link_headway_s,
                    )
                    move = supply if supply > ready else ready
                    if move < t1 and (move < best_time or (move == best_time and key < best_key)):
                        best_time = move
                        best_key = key
                        best_kind = 1
                        best_link = link
                        best_next = link
                        best_forced = False
                if best_kind < 0:
                    break
                # execute the best move
                if best_kind == 0:
                    link = best_link
                    slot = link_ring_offset[link] + link_n_out[link] % link_ring_size[link]
                    if best_depth > 0:
                        # the passing vehicle leaves first: the held ones move one place back
                        first = link_n_out[link]
                        passing = ring_vehicle[
                            link_ring_offset[link] + (first + best_depth) % link_ring_size[link]
                        ]
                        for j in range(best_depth, 0, -1):
                            here = link_ring_offset[link] + (link_n_out[link] + j) % link_ring_size[link]
                            there = link_ring_offset[link] + (link_n_out[link] + j - 1) % link_ring_size[link]
                            ring_vehicle[here] = ring_vehicle[there]
                        ring_vehicle[slot] = passing
                        counters[4] += 1
                    vehicle = ring_vehicle[slot]
                    ring_exit_s[slot] = best_time
                    link_n_out[link] += 1
                    link_last_exit_s[link] = best_time
                    acc_outflow[link] += 1
                    travel = best_time - veh_link_entry_s[vehicle]
                    acc_exit_time_s[link] += travel
                    # for route choice a first link's time includes the wait to enter it (from departure)
                    start = veh_depart_s[vehicle] if veh_pos[vehicle] == 0 else veh_link_entry_s[vehicle]
                    b = int(start / tt_bin_s)
                    if b >= bins:
                        b = bins - 1
                    tt_sum_s[b, link] += best_time - start
                    tt_count[b, link] += 1
                    if signal < 0 and link_rank[link] == 0:
                        node_last_major_s[node] = best_time
                    if best_forced:
                        counters[2] += 1
                        e = counters[0]
                        ev_time_s[e] = best_time
                        ev_kind[e] = EVENT_GRIDLOCK
                        ev_vehicle[e] = vehicle
                        ev_link[e] = best_next
                        ev_value[e] = best_wait + (best_time - t0)
                        counters[0] = e + 1
                    if best_next < 0:
                        veh_arrive_s[vehicle] = best_time
                        counters[1] += 1
                        e = counters[0]
                        ev_time_s[e] = best_time
                        ev_kind[e] = EVENT_ARRIVE
                        ev_vehicle[e] = vehicle
                        ev_link[e] = link
                        ev_value[e] = best_time - veh_depart_s[vehicle]
                        counters[0] = e + 1
                        continue
                    veh_pos[vehicle] = best_jump
                else:
                    link = best_link
                    cursor = link_orig_next[link]
                    vehicle = orig_vehicles[cursor]
                    link_orig_next[link] = cursor + 1
                    veh_enter_s[vehicle] = best_time
                    counters[3] += 1
                    e = counters[0]
                    ev_time_s[e] = best_time
                    ev_kind[e] = EVENT_DEPART
                    ev_vehicle[e] = vehicle
                    ev_link[e] = link
                    ev_value[e] = best_time - veh_depart_s[vehicle]
                    counters[0] = e + 1
                # enter the next link
                nxt = best_next
                slot = link_ring_offset[nxt] + link_n_in[nxt] % link_ring_size[nxt]
                ring_vehicle[slot] = vehicle
                link_n_in[nxt] += 1
                link_last_entry_s[nxt] = best_time
                veh_link_entry_s[vehicle] = best_time
                acc_inflow[nxt] += 1
                if record_link_events and best_kind == 0:
                    e = counters[0]
                    ev_time_s[e] = best_time
                    ev_kind[e] = EVENT_ENTER_LINK
                    ev_vehicle[e] = vehicle
                    ev_link[e] = nxt
                    ev_value[e] = 0.0
                    counters[0] = e + 1
        step += 1
    return step


@njit(cache=True)
def snapshot_links(
    time_s: float,
    link_free_time_s: np.ndarray,
    link_ring_offset: np.ndarray,
    link_ring_size: np.ndarray,
    link_n_in: np.ndarray,
    link_n_out: np.ndarray,
    ring_vehicle: np.ndarray,
    veh_link_entry_s: np.ndarray,
    out_occupancy: np.ndarray,
    out_queue: np.ndarray,
) -> None:
    """Vehicles on each link and those of them that have reached the stop line by ``time_s``."""
    for link in range(link_n_in.shape[0]):
        n_out = link_n_out[link]
        occupancy = link_n_in[link] - n_out
        out_occupancy[link] = occupancy
        queued = 0
        for i in range(occupancy):
            slot = link_ring_offset[link] + (n_out + i) % link_ring_size[link]
            if veh_link_entry_s[ring_vehicle[slot]] + link_free_time_s[link] <= time_s:
                queued += 1
            else:
                break
        out_queue[link] = queued


@njit(cache=True)
def count_turn_vehicles(
    time_s: float,
    links: np.ndarray,
    link_to_node: np.ndarray,
    link_free_time_s: np.ndarray,
    link_ring_offset: np.ndarray,
    link_ring_size: np.ndarray,
    link_n_in: np.ndarray,
    link_n_out: np.ndarray,
    ring_vehicle: np.ndarray,
    veh_link_entry_s: np.ndarray,
    veh_path: np.ndarray,
    veh_pos: np.ndarray,
    path_offset: np.ndarray,
    path_length: np.ndarray,
    path_links: np.ndarray,
    node_out_indptr: np.ndarray,
    node_out_links: np.ndarray,
    link_turn_offset: np.ndarray,
    out_queue: np.ndarray,
    out_approaching: np.ndarray,
) -> None:
    """Per turn, vehicles on the given in-links queued at the stop line or still approaching it."""
    for i in range(links.shape[0]):
        link = links[i]
        node = link_to_node[link]
        first = node_out_indptr[node]
        count = node_out_indptr[node + 1] - first
        n_out = link_n_out[link]
        for j in range(link_n_in[link] - n_out):
            slot = link_ring_offset[link] + (n_out + j) % link_ring_size[link]
            vehicle = ring_vehicle[slot]
            pid = veh_path[vehicle]
            pos = veh_pos[vehicle]
            if pos + 1 >= path_length[pid]:
                continue
            nxt = path_links[path_offset[pid] + pos + 1]
            k = 0
            while k < count and node_out_links[first + k] != nxt:
                k += 1
            if k == count:
                continue
            turn = link_turn_offset[link] + k
            if veh_link_entry_s[vehicle] + link_free_time_s[link] <= time_s:
                out_queue[turn] += 1.0
            else:
                out_approaching[turn] += 1.0
