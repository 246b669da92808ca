// The owner's Public tab: publish the scenario for public consultation (or withdraw it), the public's
// comments as a moderation list and as pins on the map (grey waiting, orange shown, red rejected), approve
// or reject each, answer it (the answer shows publicly under it), and export them as CSV or GeoJSON.

import { Marker } from "maplibre-gl";
import { clear, el } from "../dom";
import type { ScenarioContext } from "../context";
import { consultApi, type OwnerComment } from "../consult_api";

const STATUS_LABEL = { pending: "waiting", approved: "shown", rejected: "rejected" } as const;

export interface PublicComments { element: HTMLElement; refresh(): Promise<void> }

export function publicCommentsPanel(ctx: ScenarioContext): PublicComments {
  const id = ctx.scenarioId;
  const publication = el("div", { id: "publication" });
  const list = el("ul", { class: "items moderation", id: "public-comments" });
  const summary = el("p", { class: "hint", id: "public-summary" });
  let pins: Marker[] = [];
  let publishedAt = ctx.scenario.published_at_s;

  function drawPublication(): void {
    clear(publication);
    const button = el("button", { type: "button", id: "publish", class: publishedAt ? "" : "primary", onclick: async () => {
      try {
        publishedAt = (await consultApi.publish(id, !publishedAt)).published_at_s;
        drawPublication();
      } catch (error) { ctx.toast((error as Error).message); }
    } }, publishedAt ? "Withdraw from the public" : "Publish for public consultation");
    publication.append(
      el("p", { id: "publication-status" }, publishedAt
        ? el("span", {}, "Published: anyone can see it, its latest results and report, and comment. ", el("a", { href: `#/c/${id}`, id: "public-link" }, "Public page"))
        : "Not published: only members see it."),
      button);
  }

  function item(comment: OwnerComment): HTMLElement {
    const answer = el("textarea", { id: `answer-${comment.comment_id}`, rows: 2, maxlength: 4000 }) as HTMLTextAreaElement;
    answer.value = comment.answer ?? "";
    const act = (changes: { status?: string; answer?: string | null }) => async () => {
      try { await consultApi.moderate(id, comment.comment_id, changes); await refresh(); } catch (error) { ctx.toast((error as Error).message); }
    };
    return el("li", { "data-public-comment": comment.comment_id, "data-status": comment.status },
      el("div", {}, el("span", { class: "badge" }, STATUS_LABEL[comment.status]), " ",
        el("span", { class: "meta" }, `visitor ${comment.visitor.slice(0, 6)} · ${new Date(comment.created_at_s * 1000).toLocaleString("en-GB")}`)),
      el("p", { class: "consult-text" }, comment.text),
      el("div", {},
        comment.status !== "approved" ? el("button", { type: "button", class: "approve", onclick: act({ status: "approved" }) }, "Approve") : null, " ",
        comment.status !== "rejected" ? el("button", { type: "button", class: "reject", onclick: act({ status: "rejected" }) }, "Reject") : null, " ",
        el("button", { type: "button", onclick: () => ctx.map.flyTo({ center: [comment.lon, comment.lat], zoom: 17 }) }, "Show")),
      el("label", { for: `answer-${comment.comment_id}` }, "Answer (shown publicly under the comment)"), answer,
      el("button", { type: "button", class: "save-answer", onclick: () => void act({ answer: answer.value.trim() || null })() }, "Save answer"),
      comment.answered_by ? el("span", { class: "meta" }, ` answered by ${comment.answered_by}`) : null);
  }

  async function refresh(): Promise<void> {
    const comments = await consultApi.ownerComments(id);
    clear(list);
    for (const comment of comments) list.append(item(comment));
    const waiting = comments.filter((c) => c.status === "pending").length;
    summary.textContent = `${comments.length} public comments, ${waiting} waiting for moderation.`;
    for (const pin of pins) pin.remove();
    pins = comments.map((c) => new Marker({ element: el("div", { class: `consult-pin ${c.status}`, title: c.text.slice(0, 80) }) })
      .setLngLat([c.lon, c.lat]).addTo(ctx.map));
  }

  drawPublication();
  const element = el("div", {}, el("div", { class: "panel" }, el("h3", {}, "Public consultation"), publication),
    el("div", { class: "panel" }, el("h3", {}, "Comments from the public"), summary,
      el("p", {}, "Export: ", el("a", { href: consultApi.exportUrl(id, "csv"), download: "", id: "export-csv" }, "CSV"), " · ",
        el("a", { href: consultApi.exportUrl(id, "geojson"), download: "", id: "export-geojson" }, "GeoJSON")),
      list));
  return { element, refresh };
}
