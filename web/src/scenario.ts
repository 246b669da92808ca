// One scenario, live: lays out the page, builds the context every panel shares (map, shared document,
// user, toast) and wires the panels of web/src/panels/ together. Each panel is one module; this file only
// assembles them, dispatches map clicks and tears everything down.

import type { MapMouseEvent } from "maplibre-gl";
import { api, type ScenarioInfo, type User } from "./api";
import { Room, type EditEntry } from "./collab";
import { clear, el } from "./dom";
import { decodeLayer } from "./layers";
import { buildLayers, createMap, twinRows, vehicleLayers, type MapView } from "./map";
import { loadBuildings, showBuildingPopup } from "./buildings3d";
import { BANDS } from "./forecast";
import { calibrationStatus } from "./calibration";
import { indexTwin, type ScenarioContext } from "./context";
import { sharingPanel } from "./panels/sharing";
import { layersPanel } from "./panels/layers";
import { liveStatePanel } from "./panels/live_state";
import { signalProposalsPanel } from "./panels/signal_proposals";
import { openLiveStream } from "./live";
import { onFeatureClick } from "./panels/editor";
import { addPoint, drawPanel } from "./panels/drawing";
import { editList } from "./panels/edit_list";
import { commentsPanel } from "./panels/comments";
import { presence } from "./panels/presence";
import { versionsPanel } from "./panels/versions";
import { runsPanel } from "./panels/runs";
import { results } from "./panels/results";
import { editChecks } from "./panels/checks";
import { vehicles } from "./panels/vehicles";
import { scenarioHeader } from "./panels/settings";
import { undoBar } from "./panels/undo";
import { editorSearch } from "./panels/search";
import { streets } from "./streets";
import { publicCommentsPanel } from "./panels/public_comments";

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
  // the map's layers load while the page is laid out
  const layerBuffers = Promise.all(["links", "zones", "services", "junctions"].map((name) => api.layer(scenario.twin_id, name)));
  const twinInfo = await api.twin(scenario.twin_id);
  const buildingsLoad = loadBuildings(scenario.twin_id, twinInfo.layers);

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

  const { map, overlay, moving } = createMap(mapDiv, twinInfo.bounds);
  const [links, zones, services, junctions] = (await layerBuffers).map(decodeLayer);
  const twin = indexTwin({ links, zones, services, junctions });
  // the server builds the twin's street index on the first street asked for: ask for one now, so that
  // the first click on a road is answered at once
  if (links.count) streets.street(scenario.twin_id, (links.columns.link_id as Int32Array)[0], 0, 0).catch(() => undefined);
  const buildings = await buildingsLoad;

  // --- the shared document and the context ----------------------------------------------------------
  const protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const room = new Room(`${protocol}//${location.host}/api/scenarios/${scenarioId}/live`);
  room.setPresence({ user: { name: user.name, colour: user.colour, role: scenario.role }, cursor: null, viewport: null });
  const view: MapView = {
    layers: twin, rows: twinRows(twin), linkColour: () => null, linkVersion: 0, selectedLink: null, communities: "off", extrude: false,
    buildings, showBuildings: buildings !== null,
    showServices: true, drawing: null, areas: [], comments: [], vehicles: null, time_s: 0, forecast: null, aiJunctions: null,
    highlights: [], markers: [],
  };
  const hooks: Record<string, unknown> = { map, room, view, scenario, firstPaintMs: null as number | null, forecast: null, frames: 0 };
  const tabButtons = el("div", { class: "tabs" });
  const body = el("div", { id: "tab-body" });
  const tabs: Record<string, HTMLElement> = {};
  const refreshOnShow: Record<string, () => Promise<void>> = {};
  const ctx: ScenarioContext = {
    scenarioId, scenario, user, canEdit: scenario.role !== "viewer", map, room, view, twin, hooks,
    mode: "select", linkColours: new Map(), resultShown: false, forecast: null, selection: el("div", { id: "selection" }), checks: null,
    toast: (text, kind = "error") => {
      toast.textContent = text;
      toast.className = `toast ${kind}`;
      toast.style.display = "block";
      window.setTimeout(() => { toast.style.display = "none"; }, 6000);
    },
    render: () => {
      view.linkColour = (i) => ctx.linkColours.get(i) ?? null;
      overlay.setProps({ layers: buildLayers(view, () => {}), onClick: (info) => (ctx.mode === "select" && showBuildingPopup(map, view.buildings, info)) || onFeatureClick(ctx, info), getCursor: ({ isHovering }) => (isHovering ? "pointer" : "grab") });
      ctx.renderVehicles();
    },
    renderVehicles: () => moving.setProps({ layers: vehicleLayers(view) }),
    showTab: (name) => {
      clear(body);
      body.append(tabs[name]);
      for (const button of Array.from(tabButtons.children)) button.classList.toggle("active", button.textContent === name);
      void refreshOnShow[name]?.();
    },
  };

  // --- panels ---------------------------------------------------------------------------------------
  const checks = editChecks(ctx);
  ctx.checks = checks;
  const edits = editList(ctx, checks);
  const comments = commentsPanel(ctx);
  const people = presence(ctx, cursorsDiv);
  const versions = versionsPanel(ctx);
  const cars = vehicles(ctx, slider);
  const roadsLegend = el("div", { id: "roads-legend" }, el("b", {}, "Roads"), " by class; edits: ",
    el("span", { style: "color:#c00" }, "closed"), ", ", el("span", { style: "color:#80c" }, "bus"), ", ",
    el("span", { style: "color:#06c" }, "lanes"), ", ", el("span", { style: "color:#080" }, "speed"));
  const resultLegend = el("div", { id: "result-legend", style: "display:none" });
  const runs = runsPanel(ctx, checks, results(ctx, cars, edits.refresh, { roads: roadsLegend, result: resultLegend, aiLoop: aiLegend }));
  const undo = undoBar(ctx);
  const publicComments = scenario.role === "owner" ? publicCommentsPanel(ctx) : null;
  hooks.undo = undo.manager;
  const liveState = liveStatePanel(ctx, forecastLegend);
  const proposals = signalProposalsPanel(ctx);
  const closeLive = openLiveStream(scenario.twin_id, liveState.onState, proposals.onProposals, liveState.onClosed);
  Object.assign(tabs, {
    Edit: el("div", {}, editorSearch(ctx), ctx.selection, edits.element),
    Comments: comments.element,
    Versions: versions.element,
    Runs: runs.element,
    Layers: layersPanel(ctx, forecastLegend),
    Live: el("div", {}, liveState.element, proposals.element),
    ...(scenario.role === "owner" ? { Sharing: sharingPanel(ctx) } : {}),
    ...(publicComments ? { Public: publicComments.element } : {}),
  });
  Object.assign(refreshOnShow, { Versions: versions.refresh, Runs: runs.refresh, ...(publicComments ? { Public: publicComments.refresh } : {}) });
  side.append(
    el("a", { href: "#/" }, "← scenarios"),
    scenarioHeader(ctx),
    el("div", {}, el("span", { class: "badge", id: "role" }, scenario.role), " ",
      el("span", { class: "badge" }, scenario.visibility), " ", el("span", { class: "hint" }, `twin ${scenario.twin_id}`)),
    ctx.canEdit ? el("span") : el("p", { class: "hint", id: "viewer-note" }, "You are a viewer: you can look, comment threads are read-only, and you can follow others; editing is off."),
    el("h3", {}, "Here now"), people.avatars, tabButtons, body,
  );
  for (const name of Object.keys(tabs)) tabButtons.append(el("button", { "data-tab": name, onclick: () => ctx.showTab(name) }, name));
  ctx.showTab("Edit");
  if (ctx.canEdit) {
    side.insertBefore(undo.element, tabButtons);
    side.insertBefore(drawPanel(ctx), tabButtons);
  }

  map.on("click", (event: MapMouseEvent) => {
    const at: [number, number] = [event.lngLat.lng, event.lngLat.lat];
    if (ctx.mode === "draw") addPoint(ctx, at);
    else if (ctx.mode === "comment") comments.pinAt(at);
  });
  room.onStatus = (status) => { statusDiv.textContent = status === "online" ? `live · ${scenario.role}` : status; statusDiv.dataset.status = status; };
  room.onNotice = (notice) => ctx.toast(notice.messages.join("\n"));

  // --- first paint and test hooks -------------------------------------------------------------------
  legend.append(forecastLegend, aiLegend, resultLegend, roadsLegend);
  window.metaliverpool = hooks;
  overlay.setProps({
    onAfterRender: () => {
      if (hooks.firstPaintMs === null && map.loaded()) hooks.firstPaintMs = performance.now();
    },
  });
  // frames of the vehicles' overlay drawn (bench/map.py: the playback frame rate)
  moving.setProps({ onAfterRender: () => { hooks.frames = (hooks.frames as number) + 1; } });
  if (map.loaded()) people.publishViewport();
  else map.on("load", () => { ctx.render(); people.publishViewport(); });
  ctx.render();
  people.refresh();
  edits.refresh();
  comments.refresh();
  hooks.openedInMs = performance.now() - started;

  return () => {
    closeLive();
    runs.stop();
    undo.destroy();
    cars.stop();
    room.close();
    map.remove();
  };
}

export type { EditEntry };
