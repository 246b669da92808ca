// Public consultations on the public map: the list of published scenarios, and one of them opened (its
// description, latest results and report, support/oppose, the approved comments with the owner's answers
// as pins and a list) with a form to leave a located comment. No account: the server knows a visitor by a
// cookie, and every write carries a solved proof-of-work challenge (consult_api.ts).

import { Marker, type Map as MapLibreMap, type MapMouseEvent } from "maplibre-gl";
import { clear, el } from "../dom";
import { consultApi, type Consultation, type PublicComment } from "../consult_api";

const HASH = /^#\/c\/(\d+)$/;

function when(time_s: number): string {
  return new Date(time_s * 1000).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" });
}

function commentItem(comment: PublicComment, map: MapLibreMap): HTMLElement {
  return el("li", { class: "consult-comment", "data-comment": comment.comment_id },
    el("div", {}, el("p", { class: "consult-text" }, comment.text),
      el("span", { class: "meta" }, when(comment.created_at_s), " ",
        el("button", { type: "button", "aria-label": "Show this comment on the map", onclick: () => map.flyTo({ center: [comment.lon, comment.lat], zoom: 16 }) }, "Show")),
      comment.answer ? el("p", { class: "consult-answer" }, el("b", {}, `Answer from ${comment.answered_by}: `), comment.answer) : null));
}

function resultsBlock(consultation: Consultation): HTMLElement {
  const results = consultation.results;
  if (results === null) return el("p", { class: "hint", id: "consult-results" }, "No results yet: the owner has not run this scenario.");
  const rows = results.kpi_table.map((row) => el("tr", {}, el("td", {}, row.label), el("td", {}, row.display.change)));
  return el("div", { id: "consult-results" },
    el("h3", {}, `Latest results (${when(results.finished_at_s)})`),
    el("table", { class: "kpis" }, el("thead", {}, el("tr", {}, el("th", {}, "Measure"), el("th", {}, "Change"))), el("tbody", {}, ...rows)),
    results.report ? el("a", { id: "consult-report", href: `/api/public/consultations/${consultation.scenario_id}/report`, target: "_blank", rel: "noopener" }, "Open the full report") : null);
}

export function consultPanel(map: MapLibreMap): HTMLElement {
  const element = el("section", { class: "consult", id: "consultations-panel", "aria-labelledby": "consult-heading" });
  let pins: Marker[] = [];
  let picking: ((event: MapMouseEvent) => void) | null = null;

  const stopPicking = () => {
    if (picking) map.off("click", picking);
    picking = null;
    map.getCanvas().style.cursor = "";
  };
  const setPins = (comments: PublicComment[]) => {
    for (const pin of pins) pin.remove();
    pins = comments.map((comment) => new Marker({
      element: el("div", { class: "consult-pin", title: comment.text.slice(0, 80), "data-pin": comment.comment_id }),
    }).setLngLat([comment.lon, comment.lat]).addTo(map));
  };

  async function showList(): Promise<void> {
    stopPicking();
    setPins([]);
    clear(element);
    const list = el("ul", { class: "items", id: "consultations" });
    element.append(el("h2", { id: "consult-heading" }, "Consultations"), list);
    const found = await consultApi.list();
    if (!found.length) list.append(el("li", { class: "hint" }, "No scenario is open for comments at the moment."));
    for (const item of found) {
      list.append(el("li", {}, el("button", { type: "button", class: "link", "data-consultation": item.scenario_id, onclick: () => void open(item.scenario_id) }, item.name),
        el("span", { class: "meta" }, `${item.reactions.support} support · ${item.reactions.oppose} oppose · ${item.comments} comments`)));
    }
  }

  function commentForm(consultation: Consultation, at: [number, number]): HTMLElement {
    const text = el("textarea", { id: "consult-comment-text", rows: 4, maxlength: 2000 }) as HTMLTextAreaElement;
    const status = el("p", { id: "consult-comment-status", role: "status" });
    const form = el("form", { class: "panel", id: "consult-comment-form" },
      el("label", { for: "consult-comment-text" }, `Your comment at ${at[1].toFixed(5)}, ${at[0].toFixed(5)}`), text,
      el("button", { class: "primary", type: "submit", id: "consult-comment-send" }, "Send"), status);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      status.textContent = "Sending (your browser does a little work first, which keeps robots out)…";
      (form.querySelector("button") as HTMLButtonElement).disabled = true;
      consultApi.comment(consultation.scenario_id, text.value, at).then(() => {
        form.replaceChildren(el("p", { id: "consult-comment-thanks", role: "status" }, "Thank you. Your comment will appear here once the owner has read and approved it."));
      }, (error: Error) => {
        status.textContent = error.message;
        (form.querySelector("button") as HTMLButtonElement).disabled = false;
      });
    });
    queueMicrotask(() => text.focus());
    return form;
  }

  async function open(scenarioId: number): Promise<void> {
    stopPicking();
    const consultation = await consultApi.get(scenarioId);
    history.replaceState(null, "", `#/c/${scenarioId}`);
    clear(element);
    const [west, south, east, north] = consultation.bounds;
    map.fitBounds([[west, south], [east, north]], { padding: 40, duration: 0 });
    setPins(consultation.comments);
    const counts = el("span", { id: "consult-counts" });
    const stanceButtons = (["support", "oppose"] as const).map((stance) => el("button", {
      type: "button", id: `consult-${stance}`, "aria-pressed": String(consultation.your_stance === stance),
      onclick: async () => {
        const next = consultation.your_stance === stance ? null : stance;
        try {
          const answer = await consultApi.react(scenarioId, next);
          consultation.reactions = answer.reactions;
          consultation.your_stance = next;
          drawStance();
        } catch (error) { counts.textContent = (error as Error).message; }
      },
    }, stance === "support" ? "Support" : "Oppose"));
    const drawStance = () => {
      stanceButtons.forEach((button, k) => button.setAttribute("aria-pressed", String(consultation.your_stance === (k ? "oppose" : "support"))));
      counts.textContent = `${consultation.reactions.support} support, ${consultation.reactions.oppose} oppose`;
    };
    drawStance();
    const formSlot = el("div", {});
    const place = el("button", { type: "button", id: "consult-place", onclick: () => {
      formSlot.replaceChildren(el("p", { class: "hint", role: "status" }, "Click the map where your comment belongs."));
      map.getCanvas().style.cursor = "crosshair";
      stopPicking();
      picking = (event: MapMouseEvent) => {
        stopPicking();
        formSlot.replaceChildren(commentForm(consultation, [event.lngLat.lng, event.lngLat.lat]));
      };
      map.on("click", picking);
    } }, "Leave a comment on the map");
    const comments = el("ul", { class: "items", id: "consult-comments" }, ...consultation.comments.map((c) => commentItem(c, map)));
    element.append(
      el("button", { type: "button", class: "link", id: "consult-back", onclick: () => { history.replaceState(null, "", "#/"); void showList(); } }, "← All consultations"),
      el("h2", { id: "consult-heading" }, consultation.name),
      el("p", { id: "consult-description" }, consultation.description || ""),
      el("p", { class: "hint" }, `Published ${when(consultation.published_at_s)}`),
      resultsBlock(consultation),
      el("div", { class: "consult-stance", role: "group", "aria-label": "Your view of this scenario" }, ...stanceButtons, " ", counts),
      place, formSlot,
      el("h3", {}, `Comments (${consultation.comments.length})`),
      consultation.comments.length ? comments : el("p", { class: "hint" }, "No approved comments yet."));
  }

  const match = location.hash.match(HASH);
  void (match ? open(Number(match[1])) : showList()).catch(() => showList());
  return element;
}
