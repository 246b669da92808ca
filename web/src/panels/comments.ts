// Comments: threads in the Comments tab, pins on the map, replies and resolve.

import { newId, type CommentEntry } from "../collab";
import { clear, el } from "../dom";
import type { ScenarioContext } from "../context";

export interface Comments {
  element: HTMLElement;
  /** the comment form for a pin at `at` (after "Pin a comment on the map" and a map click) */
  pinAt(at: [number, number]): void;
  refresh(): void;
}

export function commentsPanel(ctx: ScenarioContext): Comments {
  const { room, user } = ctx;
  const list = el("ul", { class: "items", id: "comments" });
  let pendingPin: [number, number] | null = null;
  const element = el("div", {}, el("div", { class: "panel" }, el("h3", {}, "Comments"), list,
    ctx.canEdit ? el("button", { id: "pin-comment", onclick: () => { ctx.mode = "comment"; ctx.toast("Click the map where the comment belongs", "info"); } }, "Pin a comment on the map") : el("span")));

  function form(parent: string | null): void {
    const text = el("input", { id: "comment-text", placeholder: parent ? "reply" : "comment", "aria-label": parent ? "Your reply" : "Your comment", style: "width:100%" }) as HTMLInputElement;
    const panel = el("div", { class: "panel", id: "comment-form" }, text,
      el("button", { id: "comment-send", onclick: () => {
        const entry: CommentEntry = { text: text.value, author: user.name, created_at_s: Date.now() / 1000,
          lon: parent ? null : pendingPin?.[0] ?? null, lat: parent ? null : pendingPin?.[1] ?? null, parent, resolved: false };
        room.comments.set(newId(), entry);
        pendingPin = null;
        panel.remove();
      } }, "Send"));
    ctx.showTab("Comments");
    element.prepend(panel);
    text.focus();
  }

  function refresh(): void {
    clear(list);
    const entries = Array.from(room.comments.entries()).sort((a, b) => a[1].created_at_s - b[1].created_at_s);
    const replies = new Map<string, [string, CommentEntry][]>();
    for (const item of entries) if (item[1].parent) replies.set(item[1].parent, [...(replies.get(item[1].parent) ?? []), item]);
    const item = ([id, c]: [string, CommentEntry], depth: number): HTMLElement =>
      el("li", { "data-comment": id, style: `margin-left:${depth * 14}px` },
        el("span", {}, el("b", {}, c.author), ": ", c.text, c.resolved ? " (resolved)" : ""),
        ctx.canEdit ? el("span", {},
          el("button", { onclick: () => form(id) }, "Reply"),
          depth === 0 ? el("button", { onclick: () => room.comments.set(id, { ...c, resolved: !c.resolved }) }, c.resolved ? "Reopen" : "Resolve") : null,
          c.lon !== null ? el("button", { onclick: () => ctx.map.flyTo({ center: [c.lon as number, c.lat as number], zoom: 17 }) }, "Show") : null) : null);
    const walk = (entry: [string, CommentEntry], depth: number) => {
      list.append(item(entry, depth));
      for (const reply of replies.get(entry[0]) ?? []) walk(reply, depth + 1);
    };
    for (const entry of entries) if (!entry[1].parent || !room.comments.has(entry[1].parent)) walk(entry, 0);
    ctx.view.comments = entries.filter(([, c]) => c.lon !== null && c.lat !== null && !c.parent)
      .map(([id, c]) => ({ id, position: [c.lon as number, c.lat as number], resolved: c.resolved }));
    ctx.render();
  }
  room.comments.observeDeep(refresh);

  return { element, refresh, pinAt: (at) => { ctx.mode = "select"; pendingPin = at; form(null); } };
}
