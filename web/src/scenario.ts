// One scenario, live: the map, the people here (avatars, named cursors, follow), the editor, comments,
// versions and runs. The shared state is the room's Yjs document; REST is used for everything else.

import type { PickingInfo } from "@deck.gl/core";
import type { MapMouseEvent } from "maplibre-gl";
import { api, type RunInfo, type ScenarioInfo, type User, type VersionInfo } from "./api";
import { Room, newId, type CommentEntry, type EditEntry } from "./collab";
import { clear, el } from "./dom";
import { category, decodeLayer } from "./layers";
import { buildLayers, createMap, type MapView, type TwinLayers } from "./map";
import { describeEdit, editColour, editWays, editArea } from "./edits";
import { equityRows, formatNumber, kpiRows } from "./kpis";
import { BANDS, clock, forecastDetails, forecastPanel, TWIN_DAY_START_S, type ForecastLayer } from "./forecast";
import { calibrationStatus } from "./calibration";

interface AiLoop {
  seeds: number; eligible_signals: number; horizon_s: number; risk_threshold: number;
  junctions: { osm_node_id: number; lon: number; lat: number; seeds_flagged: number; first_flag_s: number; max_forecast: number }[];
}

interface Presence {
  user?: { name: string; colour: string; role: string };
  cursor?: { lon: number; lat: number } | null;
  viewport?: { lon: number; lat: number; zoom: number; bearing_deg: number; pitch_deg: number };
}

declare global {
  interface Window { metaliverpool?: Record<string, unknown> }
}

export async function openScenario(app: HTMLElement, scenarioId: number, user: User): Promise<() => void> {
  const started = performance.now();
  let scenario: ScenarioInfo;
  try {
    scenario = await api.scenario(scenarioId);
  } catch (error) {
    app.append(el("div", { class: "page" }, el("p", { class: "error", id: "scenario-error" }, (error as Error).message),
      el("a", { href: "#/" }, "Back to scenarios")));
    return () => {};
  }
  const canEdit = scenario.role !== "viewer";
  // the map's layers load while the page is laid out
  const layerBuffers = Promise.all(["links", "zones", "services", "junctions"].map((name) => api.layer(scenario.twin_id, name)));
  const twinInfo = await api.twin(scenario.twin_id);

  // --- layout --------------------------------------------------------------------------------------
  const side = el("div", { class: "side" });
  const mapDiv = el("div", { id: "map" });
  const cursorsDiv = el("div", { id: "cursors" });
  const statusDiv = el("div", { class: "status", id: "status" }, "connecting…");
  const toast = el("div", { class: "toast", id: "toast", style: "display:none" });
  const legend = el("div", { class: "legend" });
  const aiLegend = el("div", { id: "ai-legend", style: "display:none" }, el("span", { style: "color:#8000a0" }, "◯ "), "junctions the AI loop took over");
  const forecastLegend = el("div", { id: "forecast-legend", style: "display:none" }, el("b", {}, "Forecast"), " congestion: ",
    ...BANDS.flatMap((band, k) => [k ? ", " : "", el("span", { style: `color:rgb(${band.colour.slice(0, 3).join(",")})` }, band.name)]));
  const slider = el("div", { class: "slider", id: "time-slider", style: "display:none" });
  const mapWrap = el("div", { class: "mapwrap" }, mapDiv, cursorsDiv, statusDiv, calibrationStatus(twinInfo), toast, legend, slider);
  app.append(el("div", { class: "layout" }, side, mapWrap));

  const { map, overlay } = createMap(mapDiv, twinInfo.bounds);
  const [links, zones, services, junctions] = (await layerBuffers).map(decodeLayer);
  const layers: TwinLayers = { links, zones, services, junctions };
  const linkRow = new Map<number, number>();
  const linkIds = links.columns.link_id as Int32Array;
  for (let i = 0; i < links.count; i++) linkRow.set(linkIds[i], i);
  const wayLinks = new Map<number, number[]>();
  const osmWay = links.columns.osm_way_id as Float64Array;
  for (let i = 0; i < links.count; i++) {
    const list = wayLinks.get(osmWay[i]) ?? [];
    list.push(i);
    wayLinks.set(osmWay[i], list);
  }

  // --- the shared document ------------------------------------------------------------------------
  const protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const room = new Room(`${protocol}//${location.host}/api/scenarios/${scenarioId}/live`);
  room.setPresence({ user: { name: user.name, colour: user.colour, role: scenario.role }, cursor: null, viewport: null });
  let following: number | null = null;

  const view: MapView = {
    layers, linkColour: () => null, linkVersion: 0, selectedLink: null, communities: "off", extrude: false,
    showServices: true, drawing: null, areas: [], comments: [], vehicles: null, time_s: 0, forecast: null, aiJunctions: null,
  };
  let forecast: ForecastLayer | null = null;
  const hooks: Record<string, unknown> = { map, room, view, scenario, firstPaintMs: null as number | null, forecast: null };
  let linkColours = new Map<number, [number, number, number, number]>();
  let mode: "select" | "draw" | "comment" = "select";
  let pendingPin: [number, number] | null = null;

  const render = () => {
    view.linkColour = (i) => linkColours.get(i) ?? null;
    overlay.setProps({ layers: buildLayers(view, () => {}), onClick: onMapClick, getCursor: ({ isHovering }) => (isHovering ? "pointer" : "grab") });
  };

  // --- panels ---------------------------------------------------------------------------------------
  const avatars = el("div", { class: "avatars", id: "avatars" });
  const tabButtons = el("div", { class: "tabs" });
  const body = el("div", { id: "tab-body" });
  const selection = el("div", { id: "selection" });
  const editsList = el("ul", { class: "items", id: "edits" });
  const commentsList = el("ul", { class: "items", id: "comments" });
  const versionsDiv = el("div", { id: "versions" });
  const runsDiv = el("div", { id: "runs" });
  side.append(
    el("a", { href: "#/" }, "← scenarios"),
    el("h2", { id: "scenario-name" }, scenario.name),
    el("div", {}, el("span", { class: "badge", id: "role" }, scenario.role), " ",
      el("span", { class: "badge" }, scenario.visibility), " ", el("span", { class: "hint" }, `twin ${scenario.twin_id}`)),
    canEdit ? el("span") : el("p", { class: "hint", id: "viewer-note" }, "You are a viewer: you can look, comment threads are read-only, and you can follow others; editing is off."),
    el("h3", {}, "Here now"), avatars, tabButtons, body,
  );
  const tabs: Record<string, HTMLElement> = {
    Edit: el("div", {}, selection, el("div", { class: "panel" }, el("h3", {}, "Edits"), editsList)),
    Comments: el("div", {}, el("div", { class: "panel" }, el("h3", {}, "Comments"), commentsList,
      canEdit ? el("button", { id: "pin-comment", onclick: () => { mode = "comment"; showToast("Click the map where the comment belongs", "info"); } }, "Pin a comment on the map") : el("span"))),
    Versions: versionsDiv,
    Runs: runsDiv,
    Layers: layerPanel(),
    ...(scenario.role === "owner" ? { Sharing: sharingPanel() } : {}),
  };
  const showTab = (name: string) => {
    clear(body);
    body.append(tabs[name]);
    for (const button of Array.from(tabButtons.children)) button.classList.toggle("active", button.textContent === name);
    if (name === "Versions") void refreshVersions();
    if (name === "Runs") void refreshRuns();
  };
  for (const name of Object.keys(tabs)) tabButtons.append(el("button", { "data-tab": name, onclick: () => showTab(name) }, name));
  showTab("Edit");
  if (canEdit) {
    side.insertBefore(el("div", { class: "panel" }, el("h3", {}, "Draw an area"),
      el("p", { class: "hint" }, "Click points on the map, then finish to make a 20 mph zone, a low-traffic neighbourhood or a charge zone."),
      el("button", { id: "draw", onclick: () => { mode = "draw"; view.drawing = []; render(); } }, "Draw"),
      " ", el("button", { id: "finish-draw", onclick: () => finishDrawing() }, "Finish")), tabButtons);
  }

  function showToast(text: string, kind: "error" | "info" = "error"): void {
    toast.textContent = text;
    toast.className = `toast ${kind}`;
    toast.style.display = "block";
    window.setTimeout(() => { toast.style.display = "none"; }, 6000);
  }

  function sharingPanel(): HTMLElement {
    const name = el("input", { id: "member-name", placeholder: "user name" }) as HTMLInputElement;
    const role = el("select", { id: "member-role" }, el("option", { value: "editor" }, "editor"), el("option", { value: "viewer" }, "viewer")) as HTMLSelectElement;
    const members = el("ul", { class: "items", id: "members" });
    const show = (info: ScenarioInfo) => {
      clear(members);
      for (const m of info.members) members.append(el("li", {}, el("span", {}, el("b", { style: `color:${m.colour}` }, m.name), ` · ${m.role}`)));
    };
    show(scenario);
    const visibility = el("select", { id: "visibility", onchange: async (event) => {
      try { scenario = await api.patchScenario(scenarioId, { visibility: (event.target as HTMLSelectElement).value }); } catch (error) { showToast((error as Error).message); }
    } }, el("option", { value: "private", selected: scenario.visibility === "private" }, "private: members only"),
      el("option", { value: "shared", selected: scenario.visibility === "shared" }, "shared: every signed-in user may view"));
    return el("div", { class: "panel" }, el("h3", {}, "Sharing"), visibility, members,
      el("div", { class: "form" }, name, role, el("button", { id: "add-member", onclick: async () => {
        try { show(await api.setMember(scenarioId, name.value, role.value)); name.value = ""; } catch (error) { showToast((error as Error).message); }
      } }, "Add")));
  }

  function layerPanel(): HTMLElement {
    const forecastSlot = el("div", { id: "forecast-slot" });
    void forecastPanel(scenario.twin_id, linkRow, (layer) => {
      forecast = layer;
      hooks.forecast = layer;
      view.forecast = layer ? { rows: layer.rows, colours: layer.colours } : null;
      forecastLegend.style.display = layer ? "block" : "none";
      render();
    }, (message) => showToast(message)).then((panel) => forecastSlot.append(panel));
    const pick = el("select", { id: "communities", onchange: (event) => {
      view.communities = (event.target as HTMLSelectElement).value as MapView["communities"]; render();
    } }, el("option", { value: "off" }, "off"), el("option", { value: "imd" }, "IMD decile (1 = most deprived)"), el("option", { value: "population" }, "population"));
    return el("div", { class: "panel" }, el("h3", {}, "Layers"),
      el("label", {}, "Communities (LSOAs): ", pick),
      el("label", { style: "display:block" }, el("input", { type: "checkbox", id: "extrude", onchange: (event) => {
        view.extrude = (event.target as HTMLInputElement).checked; if (view.extrude) map.easeTo({ pitch: 50 }); render();
      } }), " 3D (height = population)"),
      el("label", { style: "display:block" }, el("input", { type: "checkbox", checked: true, onchange: (event) => {
        view.showServices = (event.target as HTMLInputElement).checked; render();
      } }), " Services (hospitals red, GPs green, schools blue)"),
      el("p", { class: "hint" }, "This twin has no building footprints; 3D shows communities by population."),
      forecastSlot);
  }

  // --- editing --------------------------------------------------------------------------------------
  function addEdit(edit: Record<string, unknown>): void {
    if (!canEdit) { showToast("Viewers cannot edit"); return; }
    const id = newId();
    room.edits.set(id, { edit: { ...edit, id }, author: user.name, created_at_s: Date.now() / 1000 });
  }

  function onMapClick(info: PickingInfo): boolean {
    if (mode !== "select") return false;
    const id = info.layer?.id;
    clear(selection);
    if (id === "roads" && info.index >= 0) {
      view.selectedLink = info.index;
      roadPanel(info.index);
    } else if (id === "signals" && info.index >= 0) {
      junctionPanel(info.object as number);
    } else if (id === "forecast" && info.index >= 0 && forecast) {
      const row = forecast.rows[info.index];
      view.selectedLink = row;
      selection.append(forecastDetails(forecast, forecast.snapshot.link_id.indexOf((links.columns.link_id as Int32Array)[row]), category(links, "name", row)));
      roadPanel(row);
      showTab("Edit");
    } else if (id === "communities" && info.index >= 0) {
      zonePanel(info.index);
    } else if (id === "comments" && info.object) {
      showTab("Comments");
      document.querySelector(`[data-comment="${(info.object as { id: string }).id}"]`)?.scrollIntoView();
    } else {
      view.selectedLink = null;
    }
    render();
    return true;
  }

  function roadPanel(i: number): void {
    const way = osmWay[i];
    const name = category(links, "name", i) || "(unnamed)";
    const lanes = el("input", { type: "number", id: "lanes", min: 1, max: 8, value: (links.columns.lanes as Float32Array)[i] }) as HTMLInputElement;
    const mph = el("select", { id: "mph" }, ...[20, 30, 40, 50].map((v) => el("option", { value: v }, `${v} mph`))) as HTMLSelectElement;
    const limitMph = Math.round((links.columns.speed_limit_mps as Float32Array)[i] / 0.44704);
    selection.append(el("div", { class: "panel", id: "road-panel" },
      el("h3", {}, `${name}`),
      el("p", { class: "hint" }, `OSM way ${way} · ${category(links, "highway", i)} · ${(links.columns.lanes as Float32Array)[i]} lane(s) · ${limitMph} mph · ${Math.round((links.columns.capacity_vph as Float32Array)[i])} veh/h`),
      el("div", { class: "form" },
        el("button", { id: "close-road", disabled: !canEdit, onclick: () => addEdit({ kind: "close_road", osm_way_ids: [way] }) }, "Close road"),
        el("button", { id: "bus-lane", disabled: !canEdit, onclick: () => addEdit({ kind: "bus_lane", osm_way_ids: [way] }) }, "Bus lane"),
        el("button", { id: "modal-filter", disabled: !canEdit, onclick: () => addEdit({ kind: "modal_filter", osm_way_ids: [way] }) }, "Modal filter")),
      el("div", { class: "form" }, "Lanes ", lanes,
        el("button", { id: "set-lanes", disabled: !canEdit, onclick: () => addEdit({ kind: "change_lanes", osm_way_ids: [way], lanes: Number(lanes.value) }) }, "Set")),
      el("div", { class: "form" }, "Speed limit ", mph,
        el("button", { id: "set-speed", disabled: !canEdit, onclick: () => addEdit({ kind: "speed_limit", osm_way_ids: [way], speed_limit_mph: Number(mph.value) }) }, "Set"))));
  }

  function junctionPanel(i: number): void {
    const node = (junctions.columns.osm_node_id as Float64Array)[i];
    const cycle = el("input", { type: "number", id: "cycle", min: 30, max: 240, value: 90 }) as HTMLInputElement;
    selection.append(el("div", { class: "panel", id: "junction-panel" }, el("h3", {}, `Signals at OSM node ${node}`),
      el("div", { class: "form" }, "Cycle (s) ", cycle,
        el("button", { disabled: !canEdit, onclick: () => addEdit({ kind: "signal_plan", osm_node_id: node, cycle_s: Number(cycle.value) }) }, "Set plan"),
        el("button", { disabled: !canEdit, onclick: () => addEdit({ kind: "signal_plan", osm_node_id: node, optimise: true }) }, "Let the engine optimise")),
      aiLoopForm([node])));
  }

  /** The AI signal loop edit for `nodes` (null = every signalised junction); dynamic runs honour it. */
  function aiLoopForm(nodes: number[] | null): HTMLElement {
    const threshold = el("input", { type: "number", id: "ai-threshold", min: 0.05, max: 1, step: 0.05, value: 0.5, style: "width:5em" }) as HTMLInputElement;
    const horizon = el("input", { type: "number", id: "ai-horizon", min: 5, max: 120, step: 5, value: 30, style: "width:5em" }) as HTMLInputElement;
    const forecast = el("select", { id: "ai-forecast" }, el("option", { value: "trend" }, "trend"),
      el("option", { value: "history" }, "history of earlier mornings (signals train-risk)"), el("option", { value: "reactive" }, "none (reactive)")) as HTMLSelectElement;
    const add = (osm: number[] | null) => addEdit({ kind: "ai_signal_control", ...(osm ? { osm_node_ids: osm } : {}),
      horizon_min: Number(horizon.value), risk_threshold: Number(threshold.value), forecast: forecast.value });
    return el("div", { class: "form" }, el("span", { class: "hint" }, "AI loop: forecast blocking risk ", horizon, " min ahead by ", forecast, "; take over at risk ≥ ", threshold),
      el("button", { id: "ai-loop-here", disabled: !canEdit, onclick: () => add(nodes) }, "AI loop here"),
      el("button", { id: "ai-loop-all", disabled: !canEdit, onclick: () => add(null) }, "AI loop on every signal"),
      el("span", { class: "hint" }, "Run it with the dynamic engine: the baseline is the same scenario without the loop."));
  }

  function zonePanel(i: number): void {
    const code = category(zones, "zone_code", i);
    const homes = el("input", { type: "number", id: "homes", min: 0, value: 200 }) as HTMLInputElement;
    const jobs = el("input", { type: "number", id: "jobs", min: 0, value: 0 }) as HTMLInputElement;
    selection.append(el("div", { class: "panel", id: "zone-panel" }, el("h3", {}, `Community ${code}`),
      el("p", { class: "hint" }, `population ${(zones.columns.population as Float32Array)[i]} · IMD decile ${(zones.columns.imd_decile as Float32Array)[i]}`),
      el("div", { class: "form" }, "Homes ", homes, " Jobs ", jobs,
        el("button", { id: "add-development", disabled: !canEdit, onclick: () => addEdit({ kind: "new_development", lsoa_code: code, homes: Number(homes.value), jobs: Number(jobs.value) }) }, "Add development"))));
  }

  function finishDrawing(): void {
    const points = view.drawing ?? [];
    mode = "select";
    view.drawing = null;
    render();
    if (points.length < 3) { showToast("Draw at least three points"); return; }
    const ring = [...points, points[0]];
    const area = { type: "Polygon", coordinates: [ring] };
    const charge = el("input", { type: "number", id: "charge", min: 0.5, step: 0.5, value: 5 }) as HTMLInputElement;
    clear(selection);
    showTab("Edit");
    selection.append(el("div", { class: "panel", id: "area-panel" }, el("h3", {}, "Drawn area"),
      el("div", { class: "form" },
        el("button", { id: "zone-20mph", onclick: () => addEdit({ kind: "speed_limit", speed_limit_mph: 20, area }) }, "20 mph zone"),
        el("button", { id: "zone-ltn", onclick: () => addEdit({ kind: "low_traffic_neighbourhood", area }) }, "Low-traffic neighbourhood")),
      el("div", { class: "form" }, "Charge £", charge,
        el("button", { id: "zone-charge", onclick: () => addEdit({ kind: "cordon_charge", area, charge_gbp: Number(charge.value) }) }, "Charge zone"))));
  }

  map.on("click", (event: MapMouseEvent) => {
    const at: [number, number] = [event.lngLat.lng, event.lngLat.lat];
    if (mode === "draw") {
      view.drawing = [...(view.drawing ?? []), at];
      render();
    } else if (mode === "comment") {
      mode = "select";
      pendingPin = at;
      commentForm(null);
    }
  });

  function refreshEdits(): void {
    clear(editsList);
    linkColours = new Map();
    view.areas = [];
    const entries = Array.from(room.edits.entries()).sort((a, b) => a[1].created_at_s - b[1].created_at_s);
    for (const [id, entry] of entries) {
      const colour = editColour(entry.edit);
      for (const way of editWays(entry.edit)) for (const i of wayLinks.get(way) ?? []) linkColours.set(i, colour);
      const area = editArea(entry.edit);
      if (area) view.areas.push({ id, polygon: area, colour });
      editsList.append(el("li", { "data-edit": id },
        el("span", {}, describeEdit(entry.edit, (way) => {
          const first = wayLinks.get(way)?.[0];
          return first === undefined ? "" : category(links, "name", first);
        }), el("br"), el("span", { class: "meta" }, `by ${entry.author}`)),
        canEdit ? el("button", { class: "remove", onclick: () => room.edits.delete(id) }, "Remove") : null));
    }
    if (!entries.length) editsList.append(el("li", { class: "hint" }, "No edits yet: click a road, a signal or a community."));
    view.linkVersion += 1;
    render();
  }
  room.edits.observeDeep(() => { if (!difference) refreshEdits(); });

  // --- comments -------------------------------------------------------------------------------------
  function commentForm(parent: string | null): void {
    const text = el("input", { id: "comment-text", placeholder: parent ? "reply" : "comment", style: "width:100%" }) as HTMLInputElement;
    const form = el("div", { class: "panel", id: "comment-form" }, text,
      el("button", { id: "comment-send", onclick: () => {
        const entry: CommentEntry = { text: text.value, author: user.name, created_at_s: Date.now() / 1000,
          lon: parent ? null : pendingPin?.[0] ?? null, lat: parent ? null : pendingPin?.[1] ?? null, parent, resolved: false };
        room.comments.set(newId(), entry);
        pendingPin = null;
        form.remove();
      } }, "Send"));
    showTab("Comments");
    tabs.Comments.prepend(form);
    text.focus();
  }

  function refreshComments(): void {
    clear(commentsList);
    const entries = Array.from(room.comments.entries()).sort((a, b) => a[1].created_at_s - b[1].created_at_s);
    const replies = new Map<string, [string, CommentEntry][]>();
    for (const item of entries) if (item[1].parent) replies.set(item[1].parent, [...(replies.get(item[1].parent) ?? []), item]);
    const item = ([id, c]: [string, CommentEntry], depth: number): HTMLElement =>
      el("li", { "data-comment": id, style: `margin-left:${depth * 14}px` },
        el("span", {}, el("b", {}, c.author), ": ", c.text, c.resolved ? " (resolved)" : ""),
        canEdit ? el("span", {},
          el("button", { onclick: () => commentForm(id) }, "Reply"),
          depth === 0 ? el("button", { onclick: () => room.comments.set(id, { ...c, resolved: !c.resolved }) }, c.resolved ? "Reopen" : "Resolve") : null,
          c.lon !== null ? el("button", { onclick: () => map.flyTo({ center: [c.lon as number, c.lat as number], zoom: 17 }) }, "Show") : null) : null);
    const walk = (entry: [string, CommentEntry], depth: number) => {
      commentsList.append(item(entry, depth));
      for (const reply of replies.get(entry[0]) ?? []) walk(reply, depth + 1);
    };
    for (const entry of entries) if (!entry[1].parent || !room.comments.has(entry[1].parent)) walk(entry, 0);
    view.comments = entries.filter(([, c]) => c.lon !== null && c.lat !== null && !c.parent)
      .map(([id, c]) => ({ id, position: [c.lon as number, c.lat as number], resolved: c.resolved }));
    render();
  }
  room.comments.observeDeep(refreshComments);

  // --- presence: avatars, cursors, follow -----------------------------------------------------------
  const cursorNodes = new Map<number, HTMLElement>();
  function placeCursors(): void {
    const states = room.awareness.getStates() as Map<number, Presence>;
    for (const [clientId, node] of cursorNodes) {
      const state = states.get(clientId);
      if (!state || !state.cursor || clientId === room.doc.clientID) { node.remove(); cursorNodes.delete(clientId); }
    }
    for (const [clientId, state] of states) {
      if (clientId === room.doc.clientID || !state.cursor || !state.user) continue;
      let node = cursorNodes.get(clientId);
      if (!node) {
        node = el("div", { class: "cursor", "data-user": state.user.name },
          el("span", { class: "label" }, state.user.name));
        node.insertAdjacentHTML("afterbegin", `<svg width="14" height="18" viewBox="0 0 14 18"><path d="M0 0 L0 16 L4 12 L7 18 L9 17 L6 11 L12 11 Z" fill="${state.user.colour}" stroke="#fff"/></svg>`);
        (node.querySelector(".label") as HTMLElement).style.background = state.user.colour;
        cursorsDiv.append(node);
        cursorNodes.set(clientId, node);
      }
      const point = map.project([state.cursor.lon, state.cursor.lat]);
      node.style.left = `${point.x}px`;
      node.style.top = `${point.y}px`;
    }
  }
  function refreshPresence(): void {
    clear(avatars);
    const states = room.awareness.getStates() as Map<number, Presence>;
    for (const [clientId, state] of states) {
      if (!state.user) continue;
      const mine = clientId === room.doc.clientID;
      const followButton = mine ? null : el("button", { class: "follow", onclick: () => {
        following = following === clientId ? null : clientId;
        refreshPresence();
        applyFollow();
      } }, following === clientId ? "unfollow" : "follow");
      avatars.append(el("span", { class: "avatar", "data-user": state.user.name, title: `${state.user.name} (${state.user.role})` },
        el("span", { class: "dot", style: `background:${state.user.colour}` }, state.user.name.slice(0, 1).toUpperCase()),
        `${state.user.name}${mine ? " (you)" : ""}`, followButton));
    }
    if (following !== null && !states.has(following)) following = null;
    placeCursors();
    applyFollow();
  }
  function applyFollow(): void {
    if (following === null) return;
    const state = (room.awareness.getStates() as Map<number, Presence>).get(following);
    if (state?.viewport) {
      map.jumpTo({ center: [state.viewport.lon, state.viewport.lat], zoom: state.viewport.zoom,
        bearing: state.viewport.bearing_deg, pitch: state.viewport.pitch_deg });
    }
  }
  room.awareness.on("change", refreshPresence);
  map.on("move", placeCursors);
  let lastCursorMs = 0;
  map.on("mousemove", (event: MapMouseEvent) => {
    const now = performance.now();
    if (now - lastCursorMs < 40) return;
    lastCursorMs = now;
    room.setPresence({ cursor: { lon: event.lngLat.lng, lat: event.lngLat.lat } });
  });
  const publishViewport = () => {
    const centre = map.getCenter();
    room.setPresence({ viewport: { lon: centre.lng, lat: centre.lat, zoom: map.getZoom(), bearing_deg: map.getBearing(), pitch_deg: map.getPitch() } });
  };
  map.on("moveend", publishViewport);
  map.on("dragstart", () => { if (following !== null) { following = null; refreshPresence(); } });

  room.onStatus = (status) => { statusDiv.textContent = status === "online" ? `live · ${scenario.role}` : status; statusDiv.dataset.status = status; };
  room.onNotice = (notice) => showToast(notice.messages.join("\n"));

  // --- versions ---------------------------------------------------------------------------------------
  async function refreshVersions(): Promise<void> {
    const history = await api.versions(scenarioId);
    clear(versionsDiv);
    const name = el("input", { id: "version-name", placeholder: "version name" }) as HTMLInputElement;
    const diffOut = el("div", { id: "diff" });
    versionsDiv.append(el("div", { class: "panel" }, el("h3", {}, "Versions"),
      canEdit ? el("div", { class: "form" }, name, el("button", { id: "save-version", onclick: async () => {
        try { await api.saveVersion(scenarioId, name.value); await refreshVersions(); } catch (error) { showToast((error as Error).message); }
      } }, "Save version")) : null,
      el("ul", { class: "items", id: "version-list" }, ...history.map((v: VersionInfo, k: number) => el("li", { "data-version": v.version_id },
        el("span", {}, `v${v.number} ${v.name}`, el("br"), el("span", { class: "meta" }, `${v.author} · ${new Date(v.created_at_s * 1000).toLocaleString()} · ${v.edit_count} edits`)),
        el("span", {},
          k + 1 < history.length ? el("button", { onclick: async () => showDiff(await api.diff(history[k + 1].version_id, v.version_id), diffOut) }, "Diff") : null,
          canEdit ? el("button", { onclick: async () => {
            try { await api.startRun(scenarioId, v.version_id, "static", [1, 2, 3]); showToast(`Run of v${v.number} started (Runs tab)`, "info"); } catch (error) { showToast((error as Error).message); }
          } }, "Run") : null,
          el("button", { onclick: async () => {
            const forked = await api.fork(v.version_id, `${scenario.name} (fork of v${v.number})`);
            location.hash = `#/s/${forked.scenario_id}`;
          } }, "Fork"))))), diffOut));
  }
  function showDiff(diff: Record<string, unknown>, out: HTMLElement): void {
    clear(out);
    const list = (title: string, items: { id: string; edit?: Record<string, unknown>; after?: Record<string, unknown> }[]) =>
      el("div", {}, el("b", {}, `${title} (${items.length})`), el("ul", {}, ...items.map((item) =>
        el("li", {}, describeEdit((item.edit ?? item.after ?? {}) as Record<string, unknown>, () => "")))));
    out.append(el("div", { class: "panel" }, list("Added", diff.added as never), list("Removed", diff.removed as never), list("Changed", diff.changed as never),
      diff.kpi_difference ? el("table", { class: "kpis" }, el("tr", {}, el("th", {}, "KPI"), el("th", {}, "a"), el("th", {}, "b"), el("th", {}, "b − a")),
      ...Object.entries(diff.kpi_difference as Record<string, { a: number; b: number; b_minus_a: number }>).filter(([k]) => k.endsWith(".mean"))
        .map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, formatNumber(v.a)), el("td", {}, formatNumber(v.b)), el("td", {}, formatNumber(v.b_minus_a))))) : el("p", { class: "hint" }, "Run both versions to compare KPIs.")));
  }

  // --- runs and compare -------------------------------------------------------------------------------
  let polling: number | null = null;
  let difference: Map<number, [number, number, number, number]> | null = null;
  async function refreshRuns(): Promise<void> {
    const runs = await api.runs(scenarioId);
    clear(runsDiv);
    const engine = el("select", { id: "run-engine" }, el("option", { value: "static" }, "static (equilibrium)"), el("option", { value: "dynamic" }, "dynamic (simulator)")) as HTMLSelectElement;
    const seeds = el("input", { id: "run-seeds", value: "1,2,3", size: 8 }) as HTMLInputElement;
    runsDiv.append(el("div", { class: "panel" }, el("h3", {}, "Runs"),
      canEdit ? el("div", { class: "form" }, engine, "seeds ", seeds, el("button", { class: "primary", id: "start-run", onclick: async () => {
        try {
          await api.startRun(scenarioId, null, engine.value, seeds.value.split(",").map((v) => Number(v.trim())).filter((v) => Number.isInteger(v)));
          await refreshRuns();
        } catch (error) { showToast((error as Error).message); }
      } }, "Run vs baseline")) : null,
      el("ul", { class: "items", id: "run-list" }, ...runs.map((run: RunInfo) => el("li", { "data-run": run.run_id, "data-status": run.status },
        el("div", { style: "width:100%" }, `Run ${run.run_id}: ${run.status}`, run.message ? el("div", { class: "meta" }, run.message) : null,
          run.status === "running" || run.status === "queued" ? el("progress", { max: 1, value: run.progress }) : null,
          run.status === "done" ? el("div", {}, el("a", { href: `/api/runs/${run.run_id}/report`, target: "_blank" }, "Report"), " ",
            el("button", { class: "compare", onclick: () => void compare(run) }, "Compare")) : null))))));
    const active = runs.some((run) => run.status === "running" || run.status === "queued");
    if (active && polling === null) polling = window.setInterval(() => void refreshRuns(), 1000);
    if (!active && polling !== null) { window.clearInterval(polling); polling = null; }
  }
  async function compare(run: RunInfo): Promise<void> {
    document.getElementById("compare")?.remove();
    const rows = kpiRows(run.kpis);
    const equity = equityRows(run.kpis);
    const interval = (v: { mean: number; lower: number; upper: number } | null) =>
      v ? `${formatNumber(v.mean)} [${formatNumber(v.lower)}, ${formatNumber(v.upper)}]` : "–";
    const maxEquity = Math.max(1e-9, ...equity.map((e) => Math.abs(e.mean)));
    const mode = el("select", { id: "result-map", onchange: async (event) => {
      const chosen = (event.target as HTMLSelectElement).value;
      difference = chosen === "off" ? null : await loadResult(run.run_id, chosen as "difference" | "congestion");
      linkColours = new Map(difference ?? []);
      if (!difference) refreshEdits(); else { view.linkVersion += 1; render(); }
    } }, el("option", { value: "off" }, "edits"), el("option", { value: "difference" }, "flow difference (red more, blue less)"),
      el("option", { value: "congestion" }, "scenario congestion (flow / capacity: green < 0.5 < amber < 0.85 < red)"));
    runsDiv.append(el("div", { class: "panel", id: "compare" }, el("h3", {}, `Run ${run.run_id}: scenario vs baseline`),
      el("label", {}, "Map shows ", mode),
      el("div", {}, el("button", { id: "show-vehicles", onclick: () => void showVehicles(run.run_id) }, "Animate vehicles"),
        el("span", { class: "hint" }, " (one simulation of the scenario; colour = delay: green none, red twice free-flow time)")),
      el("table", { class: "kpis", id: "kpi-table" }, el("tr", {}, el("th", {}, "KPI"), el("th", {}, "baseline"), el("th", {}, "scenario"), el("th", {}, "change [95% interval]")),
        ...rows.map((r) => el("tr", {}, el("td", {}, `${r.group}: ${r.name}`), el("td", {}, formatNumber(r.baseline?.mean)), el("td", {}, formatNumber(r.scenario?.mean)), el("td", {}, interval(r.change))))),
      el("h3", { style: "margin-top:8px" }, "Journey time change by IMD decile (1 = most deprived)"),
      el("table", { class: "kpis", id: "equity-table" }, el("tr", {}, el("th", {}, "decile"), el("th", {}, "people"), el("th", {}, "change (s)"), el("th", {}, "")),
        ...equity.map((e) => el("tr", {}, el("td", {}, String(e.imd_decile)), el("td", {}, formatNumber(e.population)),
          el("td", {}, `${formatNumber(e.mean)} [${formatNumber(e.lower)}, ${formatNumber(e.upper)}]`),
          el("td", {}, el("span", { style: `display:inline-block;height:8px;width:${Math.round(60 * Math.abs(e.mean) / maxEquity)}px;background:${e.mean > 0 ? "#c00" : "#06c"}` }))))),
      aiLoopSection(run),
      el("p", {}, el("a", { href: `/api/runs/${run.run_id}/report`, target: "_blank" }, "Open the full report"))));
  }
  function aiLoopSection(run: RunInfo): HTMLElement | null {
    const loop = run.kpis.ai_loop as AiLoop | undefined;
    view.aiJunctions = loop ? loop.junctions.filter((j) => Number.isFinite(j.lon) && Number.isFinite(j.lat)) : null;
    hooks.aiJunctions = view.aiJunctions;
    aiLegend.style.display = view.aiJunctions?.length ? "block" : "none";
    render();
    if (!loop) return null;
    return el("div", { id: "ai-loop" }, el("h3", { style: "margin-top:8px" }, "AI signal loop"),
      el("p", { class: "hint" }, `${loop.junctions.length} of ${loop.eligible_signals} signalised junctions were taken over in ${loop.seeds} seed(s): ` +
        `their blocking risk, forecast ${Math.round(loop.horizon_s / 60)} min ahead, reached ${loop.risk_threshold}. They are ringed in purple on the map; the baseline is the same scenario without the loop.`),
      el("table", { class: "kpis", id: "ai-junctions" }, el("tr", {}, el("th", {}, "junction (OSM node)"), el("th", {}, "first at"), el("th", {}, "seeds"), el("th", {}, "max risk")),
        ...loop.junctions.slice(0, 12).map((j) => el("tr", {}, el("td", {}, el("a", { href: "#", onclick: (event: Event) => { event.preventDefault(); map.flyTo({ center: [j.lon, j.lat], zoom: 17 }); } }, String(j.osm_node_id))),
          el("td", {}, clock(TWIN_DAY_START_S + j.first_flag_s)), el("td", {}, String(j.seeds_flagged)), el("td", {}, j.max_forecast.toFixed(2))))),
      loop.junctions.length > 12 ? el("p", { class: "hint" }, `and ${loop.junctions.length - 12} more (full list in the report)`) : null);
  }
  let playing: number | null = null;
  async function showVehicles(runId: number): Promise<void> {
    const response = await fetch(`/api/runs/${runId}/layers/vehicles`, { credentials: "same-origin" });
    if (!response.ok) { showToast("This run has no vehicle animation"); return; }
    const layer = decodeLayer(await response.arrayBuffer());
    const start = layer.columns.path_start as Uint32Array;
    const positions = layer.columns.positions as Float32Array;
    const stamps = layer.columns.timestamps_s as Float32Array;
    const ratio = layer.columns.delay_ratio as Float32Array;
    view.vehicles = [];
    let first = Infinity, last = 0;
    for (let i = 0; i < layer.count; i++) {
      if (start[i + 1] <= start[i]) continue;
      const times = stamps.subarray(start[i], start[i + 1]);
      first = Math.min(first, times[0]); last = Math.max(last, times[times.length - 1]);
      const r = Number.isFinite(ratio[i]) ? Math.min(1, Math.max(0, ratio[i] - 1)) : 1;
      view.vehicles.push({ path: positions.subarray(2 * start[i], 2 * start[i + 1]), timestamps: times,
        colour: [Math.round(40 + 200 * r), Math.round(180 - 150 * r), 40, 255] });
    }
    clear(slider);
    const range = el("input", { type: "range", id: "time", min: Math.floor(first), max: Math.ceil(last), value: Math.floor(first), step: 1, style: "width:320px" }) as HTMLInputElement;
    const label = el("span", { id: "clock" });
    const setTime = (t: number) => {
      view.time_s = t; range.value = String(t);
      const minutes = Math.floor(t / 60);
      label.textContent = ` ${String(7 + Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")} · ${layer.count} vehicles`;
      render();
    };
    range.addEventListener("input", () => setTime(Number(range.value)));
    const play = el("button", { id: "play", onclick: () => {
      if (playing !== null) { window.clearInterval(playing); playing = null; return; }
      playing = window.setInterval(() => setTime(Number(range.value) >= last ? first : Number(range.value) + 10), 50);
    } }, "Play/pause");
    slider.append(play, " ", range, label);
    slider.style.display = "block";
    setTime(first);
  }

  async function loadResult(runId: number, kind: "difference" | "congestion"): Promise<Map<number, [number, number, number, number]>> {
    const layer = decodeLayer(await (await fetch(`/api/runs/${runId}/layers/link_change`, { credentials: "same-origin" })).arrayBuffer());
    const ids = layer.columns.link_id as Int32Array;
    const change = layer.columns.change_vph as Float32Array;
    const flow = layer.columns.scenario_vph as Float32Array;
    const capacity = links.columns.capacity_vph as Float32Array;
    const largest = Math.max(1, ...Array.from(change, Math.abs));
    const colours = new Map<number, [number, number, number, number]>();
    for (let k = 0; k < layer.count; k++) {
      const row = linkRow.get(ids[k]);
      if (row === undefined) continue;
      if (kind === "congestion") {
        const ratio = flow[k] / Math.max(1, capacity[row]);
        colours.set(row, ratio < 0.5 ? [40, 160, 60, 255] : ratio < 0.85 ? [240, 170, 0, 255] : [210, 30, 30, 255]);
      } else {
        const share = Math.min(1, Math.abs(change[k]) / largest) ** 0.5;
        colours.set(row, change[k] >= 0 ? [200, 200 * (1 - share), 200 * (1 - share), 255] : [200 * (1 - share), 200 * (1 - share), 220, 255]);
      }
    }
    return colours;
  }

  // --- first paint and test hooks -------------------------------------------------------------------
  legend.append(forecastLegend, aiLegend);
  legend.append(el("div", {}, el("b", {}, "Roads"), " by class; edits: ",
    el("span", { style: "color:#c00" }, "closed"), ", ", el("span", { style: "color:#80c" }, "bus"), ", ",
    el("span", { style: "color:#06c" }, "lanes"), ", ", el("span", { style: "color:#080" }, "speed")));
  window.metaliverpool = hooks;
  overlay.setProps({
    onAfterRender: () => {
      if (hooks.firstPaintMs === null && map.loaded()) hooks.firstPaintMs = performance.now();
    },
  });
  if (map.loaded()) publishViewport();
  else map.on("load", () => { render(); publishViewport(); });
  render();
  refreshPresence();
  refreshEdits();
  refreshComments();
  hooks.openedInMs = performance.now() - started;

  return () => {
    if (polling !== null) window.clearInterval(polling);
    if (playing !== null) window.clearInterval(playing);
    room.close();
    map.remove();
  };
}

export type { EditEntry };
