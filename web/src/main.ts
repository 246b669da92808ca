// Meta Liverpool web client: the public map at `#/` for anyone; sign in (`#/signin`), pick or create a
// scenario (`#/scenarios`, and `#/` once signed in), then work on it together on the map.

import "./style.css";
import { api, ApiError, type User } from "./api";
import { openPublicMap } from "./public/page";
import { el, clear } from "./dom";

const app = document.getElementById("app") as HTMLElement;
let closeCurrent: (() => void) | null = null;

async function route(): Promise<void> {
  closeCurrent?.();
  closeCurrent = null;
  let user: User | null = null;
  try {
    user = await api.me();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) throw error;
  }
  const hash = location.hash;
  const match = hash.match(/^#\/s\/(\d+)/);
  if (user === null && (hash === "#/signin" || match)) return showSignIn();
  if (user === null || hash === "#/map" || hash.startsWith("#/c/")) {
    clear(app);
    closeCurrent = openPublicMap(app, user !== null);
  } else if (match) {
    clear(app);
    const { openScenario } = await import("./scenario"); // deck.gl and the editor load only for a scenario
    closeCurrent = await openScenario(app, Number(match[1]), user);
  } else {
    await showHome(user);
  }
}

function showSignIn(): void {
  clear(app);
  const name = el("input", { id: "name", placeholder: "name", autocomplete: "username" }) as HTMLInputElement;
  const password = el("input", { id: "password", type: "password", placeholder: "password (10+ characters)", autocomplete: "current-password" }) as HTMLInputElement;
  const message = el("p", { class: "error", id: "auth-error", role: "alert" });
  const act = async (signUp: boolean) => {
    message.textContent = "";
    try {
      if (signUp) await api.signUp(name.value, password.value);
      await api.signIn(name.value, password.value);
      if (location.hash === "#/signin") location.hash = "#/scenarios"; else await route();
    } catch (error) {
      message.textContent = (error as Error).message;
    }
  };
  const form = el("form", { class: "form", "aria-label": "Sign in or create an account" },
    el("label", { for: "name" }, "Name"), name, el("label", { for: "password" }, "Password"), password,
    el("button", { class: "primary", type: "submit", id: "signin" }, "Sign in"),
    el("button", { type: "button", id: "signup", onclick: () => act(true) }, "Create account"));
  form.addEventListener("submit", (event) => { event.preventDefault(); void act(false); });
  app.append(el("div", { class: "page" }, el("h1", {}, "Meta Liverpool"),
    el("p", {}, "The shared twin of Liverpool: test transport policies together, live."), form, message,
    el("p", {}, el("a", { href: "#/map", id: "public-map-link" }, "See the public map"))));
}

async function showHome(user: User): Promise<void> {
  clear(app);
  const [scenarios, twins] = await Promise.all([api.scenarios(), api.twins()]);
  const name = el("input", { id: "new-name", placeholder: "scenario name" }) as HTMLInputElement;
  const twin = el("select", { id: "new-twin" }, ...twins.map((t) => el("option", { value: t.twin_id }, t.twin_id))) as HTMLSelectElement;
  const visibility = el("select", { id: "new-visibility" }, el("option", { value: "private" }, "private"), el("option", { value: "shared" }, "shared")) as HTMLSelectElement;
  const message = el("p", { class: "error" });
  const create = el("button", { class: "primary", id: "create", onclick: async () => {
    try {
      const created = await api.createScenario(twin.value, name.value, visibility.value);
      location.hash = `#/s/${created.scenario_id}`;
    } catch (error) { message.textContent = (error as Error).message; }
  } }, "Create scenario");
  const list = el("ul", { class: "items", id: "scenarios" }, ...scenarios.map((s) =>
    el("li", {}, el("a", { href: `#/s/${s.scenario_id}` }, s.name),
      el("span", { class: "meta" }, `${s.twin_id} · ${s.visibility} · owner ${s.owner} · you: ${s.role}`))));
  app.append(el("div", { class: "page" },
    el("h1", {}, "Meta Liverpool"),
    el("p", {}, `Signed in as `, el("b", { id: "me" }, user.name), " ",
      el("button", { onclick: async () => { await api.signOut(); await route(); } }, "Sign out"), " ",
      el("a", { href: "#/map", id: "public-map-link" }, "Public map")),
    el("h2", {}, "Scenarios"), list,
    el("h2", {}, "New scenario"), el("div", { class: "form" }, el("label", { for: "new-name" }, "Name"), name,
      el("label", { for: "new-twin" }, "Twin"), twin, el("label", { for: "new-visibility" }, "Visibility"), visibility, create), message));
}

window.addEventListener("hashchange", () => void route());
void route();
