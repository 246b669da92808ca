// Who is here: avatars with follow buttons, named cursors on the map, following another user's view, and
// publishing this user's cursor and viewport.

import type { MapMouseEvent } from "maplibre-gl";
import { clear, el } from "../dom";
import type { ScenarioContext } from "../context";

interface Presence {
  user?: { name: string; colour: string; role: string };
  cursor?: { lon: number; lat: number } | null;
  viewport?: { lon: number; lat: number; zoom: number; bearing_deg: number; pitch_deg: number };
}

export interface PresenceView {
  /** the avatars of everyone here */
  avatars: HTMLElement;
  refresh(): void;
  publishViewport(): void;
}

/** Named cursors are drawn into `cursorsDiv`, over the map. */
export function presence(ctx: ScenarioContext, cursorsDiv: HTMLElement): PresenceView {
  const { room, map } = ctx;
  const avatars = el("div", { class: "avatars", id: "avatars" });
  const cursorNodes = new Map<number, HTMLElement>();
  let following: number | null = null;
  const states = () => room.awareness.getStates() as Map<number, Presence>;

  function placeCursors(): void {
    const all = states();
    for (const [clientId, node] of cursorNodes) {
      const state = all.get(clientId);
      if (!state || !state.cursor || clientId === room.doc.clientID) { node.remove(); cursorNodes.delete(clientId); }
    }
    for (const [clientId, state] of all) {
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
  function refresh(): void {
    clear(avatars);
    const all = states();
    for (const [clientId, state] of all) {
      if (!state.user) continue;
      const mine = clientId === room.doc.clientID;
      const followButton = mine ? null : el("button", { class: "follow", onclick: () => {
        following = following === clientId ? null : clientId;
        refresh();
        applyFollow();
      } }, following === clientId ? "unfollow" : "follow");
      avatars.append(el("span", { class: "avatar", "data-user": state.user.name, title: `${state.user.name} (${state.user.role})` },
        el("span", { class: "dot", style: `background:${state.user.colour}` }, state.user.name.slice(0, 1).toUpperCase()),
        `${state.user.name}${mine ? " (you)" : ""}`, followButton));
    }
    if (following !== null && !all.has(following)) following = null;
    placeCursors();
    applyFollow();
  }
  function applyFollow(): void {
    if (following === null) return;
    const state = states().get(following);
    if (state?.viewport) {
      map.jumpTo({ center: [state.viewport.lon, state.viewport.lat], zoom: state.viewport.zoom,
        bearing: state.viewport.bearing_deg, pitch: state.viewport.pitch_deg });
    }
  }
  room.awareness.on("change", refresh);
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
  map.on("dragstart", () => { if (following !== null) { following = null; refresh(); } });
  return { avatars, refresh, publishViewport };
}
