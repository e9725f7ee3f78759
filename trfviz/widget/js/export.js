// The export: a button that asks the kernel to save the current view as a paper figure
// (AttentionExplorer.save_figure, drawn from its ViewSpec), and the status it reports back.

import { el } from "./dom.js";

// Builds the export group in `parent`; `sync(get)` shows the kernel's last status.
export function buildExport(parent, model) {
  const group = el("div", "tv-group tv-end", parent);
  const status = el("span", "tv-status", group);
  const button = el("button", "tv-button", group, "Export figure");
  button.type = "button";
  button.dataset.action = "export";
  button.title = "save the current view as a paper figure (explorer.save_figure)";
  button.addEventListener("click", () => {
    status.textContent = "saving…";
    model.send({ type: "export" });
  });
  return {
    sync(get) {
      status.textContent = get("status") || "";
    },
  };
}
