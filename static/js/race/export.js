// Export the trajectories from the client store (CSV, JSON) and the picture (PNG via Plotly, with the
// canvas of paths composited on top in the contour view), from the header's Export menu.
import { $, download } from "../dom.js";
import { toast } from "../toast.js";
import { app } from "./state.js";

const PAGE_BACKGROUND = "#0c131b";

const finite = (v) => (Number.isFinite(v) ? v : null);
// On a data problem loss and grad are the batch's; the full_* columns are over all samples (empty elsewhere).
const CSV_COLUMNS = [
  "runner", "optimizer", "step", "x", "y", "loss", "grad_x", "grad_y", "delta_x", "delta_y",
  "full_loss", "full_grad_x", "full_grad_y", "epoch", "batch_size",
];

/** Column `column` of extra `name` at record i, NaN where the run has no such extra. */
function extraAt(track, name, i, column = 0) {
  const entry = track.extras.get(name);
  return entry ? entry.data[i * entry.width + column] : NaN;
}

export function trajectoriesCsv(race, store) {
  const lines = [CSV_COLUMNS.join(",")];
  for (const runner of race.runners) {
    const track = store.track(runner.id);
    for (let i = 0; i < track.length; i += 1) {
      const values = [
        track.x[i], track.y[i], track.loss[i], track.gx[i], track.gy[i], track.dx[i], track.dy[i],
        extraAt(track, "full_loss", i), extraAt(track, "full_gradient", i, 0), extraAt(track, "full_gradient", i, 1),
        extraAt(track, "epoch", i), extraAt(track, "batch_size", i),
      ];
      const cells = values.map((v) => (Number.isFinite(v) ? String(v) : ""));
      lines.push([runner.id, runner.optimizer, track.base + i, ...cells].join(","));
    }
  }
  return `${lines.join("\n")}\n`;
}

export function trajectoriesJson(race, store, surfaceRef, seed) {
  const column = (array, n) => Array.from(array.subarray(0, n), finite);
  const named = (table, n) =>
    Object.fromEntries(
      [...table].map(([name, entry]) => {
        const rows = [];
        for (let i = 0; i < n; i += 1) rows.push(Array.from(entry.data.subarray(i * entry.width, (i + 1) * entry.width), finite));
        return [name, rows];
      }),
    );
  return {
    surface: surfaceRef,
    seed,
    runners: race.runners.map((runner) => {
      const track = store.track(runner.id);
      const n = track.length;
      return {
        id: runner.id,
        optimizer: runner.optimizer,
        hyperparameters: runner.hyperparameters,
        start: runner.start,
        color: runner.color,
        first_step: track.base,
        points: Array.from({ length: n }, (_, i) => [track.x[i], track.y[i]]),
        losses: column(track.loss, n),
        gradients: Array.from({ length: n }, (_, i) => [finite(track.gx[i]), finite(track.gy[i])]),
        deltas: Array.from({ length: n }, (_, i) => [finite(track.dx[i]), finite(track.dy[i])]),
        hp_versions: Array.from(track.hp.subarray(0, n)),
        state: named(track.state, n),
        terms: named(track.terms, n),
        ...(runner.batch ? { batch: runner.batch } : {}),
        ...(track.extras.size ? { extras: named(track.extras, n) } : {}),
      };
    }),
  };
}

export function downloadCsv(race, store) {
  download(new Blob([trajectoriesCsv(race, store)], { type: "text/csv" }), "gdviz-trajectories.csv");
}

export function downloadJson(race, store, surfaceRef, seed) {
  const text = JSON.stringify(trajectoriesJson(race, store, surfaceRef, seed));
  download(new Blob([text], { type: "application/json" }), "gdviz-trajectories.json");
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error("image failed to load"));
    image.src = url;
  });
}

/** The plot as a PNG: Plotly's picture of plotDiv, then the overlay canvases drawn over it in order. */
export async function downloadPng(plotDiv, overlays, background) {
  const width = plotDiv.clientWidth;
  const height = plotDiv.clientHeight;
  const scale = 2;
  const url = await Plotly.toImage(plotDiv, { format: "png", width, height, scale });
  const image = await loadImage(url);
  const canvas = document.createElement("canvas");
  canvas.width = width * scale;
  canvas.height = height * scale;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  for (const overlay of overlays) ctx.drawImage(overlay, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  download(blob, "gdviz.png");
}

/** The Export menu: open and close it, and each of its items. */
export function wireExport() {
  const menu = $("export-list");
  const toggle = $("export-toggle");
  const closeMenu = () => {
    menu.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
  };
  toggle.addEventListener("click", (event) => {
    event.stopPropagation();
    menu.hidden = !menu.hidden;
    toggle.setAttribute("aria-expanded", String(!menu.hidden));
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest("#export-menu")) closeMenu();
  });
  // The keyboard closes it too: Escape (focus back on its button), or focus moving out of it.
  $("export-menu").addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || menu.hidden) return;
    event.stopPropagation();
    closeMenu();
    toggle.focus();
  });
  $("export-menu").addEventListener("focusout", (event) => {
    if (!event.relatedTarget || !$("export-menu").contains(event.relatedTarget)) closeMenu();
  });
  $("export-csv").addEventListener("click", () => {
    closeMenu();
    downloadCsv(app.race, app.store);
  });
  $("export-json").addEventListener("click", () => {
    closeMenu();
    downloadJson(app.race, app.store, app.surfaceRef, app.seed);
  });
  $("export-png").addEventListener("click", () => {
    closeMenu();
    const png =
      app.view === "contour"
        ? downloadPng($("contour"), [...$("overlays").querySelectorAll("canvas")], PAGE_BACKGROUND)
        : downloadPng($("surface3d"), [], PAGE_BACKGROUND);
    png.catch((error) => toast(error.message, "error"));
  });
}
