// Modal dialogs (the native <dialog>: focus moves into it, Tab stays inside, Escape cancels) to confirm a
// destructive step or ask for one text.

import { el } from "./dom";

function open(title: string, content: HTMLElement[], confirmLabel: string, danger: boolean, focus: "cancel" | HTMLElement): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = el("button", { type: "button", id: "dialog-cancel", value: "cancel" }, "Cancel");
    const confirm = el("button", { type: "submit", id: "dialog-confirm", value: "confirm", class: danger ? "danger" : "primary" }, confirmLabel);
    const heading = el("h3", { id: "dialog-title" }, title);
    const form = el("form", { method: "dialog" }, heading, ...content, el("div", { class: "form" }, cancel, confirm));
    const dialog = el("dialog", { id: "dialog", "aria-labelledby": "dialog-title" }, form) as HTMLDialogElement;
    cancel.addEventListener("click", () => dialog.close("cancel"));
    form.addEventListener("submit", (event) => { event.preventDefault(); dialog.close("confirm"); });
    dialog.addEventListener("close", () => { dialog.remove(); resolve(dialog.returnValue === "confirm"); });
    document.body.append(dialog);
    dialog.showModal();
    (focus === "cancel" ? cancel : focus).focus();
  });
}

/** Ask before a destructive step; resolves true when confirmed (the focus starts on Cancel). */
export function confirmDialog(title: string, text: string, confirmLabel: string): Promise<boolean> {
  return open(title, [el("p", { id: "dialog-text" }, text)], confirmLabel, true, "cancel");
}

/** Ask for one text (say, a new name); resolves it, or null when cancelled. */
export async function promptDialog(title: string, label: string, value: string, confirmLabel: string): Promise<string | null> {
  const input = el("input", { id: "dialog-input", value, required: true, style: "width:100%" }) as HTMLInputElement;
  const ok = await open(title, [el("label", { for: "dialog-input", style: "display:block" }, label), input], confirmLabel, false, input);
  return ok ? input.value : null;
}
