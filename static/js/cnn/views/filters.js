// The first layer's weights and their gradients as small images: conv1's k×k kernels, or (an MLP) each
// fc1 unit's 64 weights as the 8×8 picture it responds to. Blue negative, orange positive, each grid on
// its own scale (its largest |value|). Hovering a pixel reads its exact weight and gradient.
import { fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import { diverging } from "./scale.js";

const MAX_UNITS = 32; // an MLP's fc1 has up to 256 units: the first 32 are shown
const GAP = 2; // px between tiles

function peak(grid) {
  let m = 0;
  for (const unit of grid) for (const row of unit) for (const v of row) if (v !== null && Math.abs(v) > m) m = Math.abs(v);
  return m;
}

class FilterGrid {
  constructor(canvas, onHover, onLeave) {
    this.canvas = canvas;
    this.layout = null;
    canvas.addEventListener("pointermove", (event) => {
      const hit = this.hit(event);
      if (hit) onHover(hit, event);
      else onLeave();
    });
    canvas.addEventListener("pointerleave", onLeave);
  }

  /** Draw units (each side×side) in a grid of `columns` tiles. */
  draw(units, limit) {
    const canvas = this.canvas;
    const width = canvas.clientWidth;
    if (!width) return;
    const n = units.length;
    const side = units[0]?.length ?? 1;
    const columns = Math.min(n, n <= 16 ? 4 : 8); // bigger tiles when there are few
    const rows = Math.ceil(n / columns);
    const tile = Math.max(4, Math.floor((width - GAP * (columns - 1)) / columns));
    const height = rows * tile + (rows - 1) * GAP;
    const ratio = window.devicePixelRatio || 1;
    canvas.style.height = `${height}px`;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const cell = tile / side;
    units.forEach((unit, u) => {
      const x0 = (u % columns) * (tile + GAP);
      const y0 = Math.floor(u / columns) * (tile + GAP);
      unit.forEach((row, r) =>
        row.forEach((v, c) => {
          const [red, green, blue] = diverging(v, limit);
          ctx.fillStyle = `rgb(${red | 0},${green | 0},${blue | 0})`;
          // Whole pixels, slightly overlapping, so no hairline seams show between the cells of a tile.
          ctx.fillRect(x0 + c * cell, y0 + r * cell, cell + 0.5, cell + 0.5);
        }),
      );
      ctx.strokeStyle = "rgba(255,255,255,0.12)";
      ctx.lineWidth = 1;
      ctx.strokeRect(x0 + 0.5, y0 + 0.5, tile - 1, tile - 1);
    });
    this.layout = { columns, tile, side, n };
  }

  hit(event) {
    const l = this.layout;
    if (!l) return null;
    const box = this.canvas.getBoundingClientRect();
    const x = event.clientX - box.left;
    const y = event.clientY - box.top;
    const col = Math.floor(x / (l.tile + GAP));
    const row = Math.floor(y / (l.tile + GAP));
    const unit = row * l.columns + col;
    const inX = x - col * (l.tile + GAP);
    const inY = y - row * (l.tile + GAP);
    if (col >= l.columns || unit >= l.n || inX >= l.tile || inY >= l.tile || x < 0 || y < 0) return null;
    return { unit, r: Math.floor((inY / l.tile) * l.side), c: Math.floor((inX / l.tile) * l.side) };
  }
}

export class Filters {
  /** @param {{weights: HTMLCanvasElement, grads: HTMLCanvasElement, note: HTMLElement, tooltip: object}} nodes */
  constructor({ weights, grads, note, weightsScale, gradsScale, tooltip }) {
    this.note = note;
    this.weightsScale = weightsScale;
    this.gradsScale = gradsScale;
    this.tooltip = tooltip;
    this.filters = null;
    const hover = (hit, event) => this.hover(hit, event);
    const leave = () => tooltip.hide();
    this.weights = new FilterGrid(weights, hover, leave);
    this.grads = new FilterGrid(grads, hover, leave);
    this.step = null;
  }

  /** Draw a snapshot's filters (report.filters) if they are new. */
  update(report, force = false) {
    if (!report || (!force && report.step === this.step && this.filters === report.filters)) return;
    this.step = report.step;
    const f = report.filters;
    this.filters = f;
    const units = f.weights.slice(0, MAX_UNITS);
    const grads = f.grads ? f.grads.slice(0, MAX_UNITS) : null;
    const wLimit = peak(units);
    const gLimit = grads ? peak(grads) : 0;
    this.weights.draw(units, wLimit);
    if (grads) this.grads.draw(grads, gLimit);
    else this.grads.draw(units.map((u) => u.map((row) => row.map(() => null))), 0);
    const conv = f.layer.startsWith("conv");
    const side = units[0]?.length ?? 0;
    this.note.textContent = conv
      ? t("cnn.filters.note_conv", { layer: f.layer, n: f.weights.length, k: side })
      : t("cnn.filters.note_mlp", { layer: f.layer, shown: units.length, n: f.weights.length });
    this.weightsScale.textContent = t("cnn.filters.scale", { limit: fmt(wLimit, 2) });
    this.gradsScale.textContent = grads ? t("cnn.filters.scale", { limit: fmt(gLimit, 2) }) : t("cnn.filters.no_grads");
  }

  redraw() {
    if (this.filters) this.update({ step: this.step, filters: this.filters }, true);
  }

  hover({ unit, r, c }, event) {
    const f = this.filters;
    if (!f) return;
    const w = f.weights[unit]?.[r]?.[c];
    const g = f.grads?.[unit]?.[r]?.[c];
    this.tooltip.show(event, t("cnn.filters.tip_title", { layer: f.layer, n: unit + 1, row: r + 1, col: c + 1 }), [
      [t("cnn.filters.weight"), fmt(w, 4)],
      [t("cnn.filters.grad"), f.grads ? fmt(g, 4) : t("num.none")],
    ]);
  }
}
