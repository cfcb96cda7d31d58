// Histograms over time of one parameter tensor: its gradient's and its weights' distributions at each
// snapshot, side by side as heatmaps (x: step, y: value, colour: share of the tensor's entries). Each
// snapshot bins on [−limit, limit] with limit a power of 2; columns are re-binned onto the widest limit
// shown (../histograms.js), so the y axis is shared. One Plotly.react per heatmap per new snapshot.
import { el } from "../../dom.js";
import { t } from "../../i18n.js";
import { axis, baseLayout, PLOTLY_CONFIG } from "../../plotly.js";
import { BINS, rebin } from "../histograms.js";
import { INFERNO } from "./scale.js";

const FLOOR = 1e-4; // shares below this show as the darkest colour
const MARGIN = { l: 44, r: 6, t: 4, b: 34 };
const COLORSCALE = INFERNO.map((c, i) => [i / (INFERNO.length - 1), c]);

class HistogramHeatmap {
  constructor(div, kind) {
    this.div = div;
    this.kind = kind; // "grad" or "weight"
    this.drawn = null;
  }

  update(snapshots, name, stale) {
    const columns = snapshots.filter((s) => s[this.kind].has(name));
    const key = `${name}|${columns.length}|${columns.at(-1)?.step}|${columns[0]?.step}`;
    if (!stale && key === this.drawn) return null;
    this.drawn = key;
    const target = Math.max(1e-12, ...columns.map((s) => s[this.kind].get(name).limit));
    const width = (2 * target) / BINS;
    const y = Array.from({ length: BINS }, (_, j) => -target + (j + 0.5) * width);
    const shares = columns.map((s) => rebin(s[this.kind].get(name), target));
    // z[row = bin][column = snapshot]: log10 of the share, so the tails show beside the peak.
    const z = y.map((_, j) => shares.map((col) => Math.log10(Math.max(col[j], FLOOR))));
    const custom = y.map((_, j) => shares.map((col) => col[j]));
    const data = [
      {
        type: "heatmap",
        x: columns.map((s) => s.step),
        y,
        z,
        customdata: custom,
        zmin: Math.log10(FLOOR),
        zmax: 0,
        colorscale: COLORSCALE,
        showscale: false,
        hovertemplate: t("cnn.hist.hover", { step: "%{x}", value: "%{y:.3~e}", share: "%{customdata:.2%}" }) + "<extra></extra>",
      },
    ];
    const layout = {
      ...baseLayout(MARGIN),
      hovermode: "closest",
      hoverlabel: { font: { size: 11 } },
      xaxis: axis(t("cnn.chart.step"), { nticks: 4 }),
      yaxis: axis(t(this.kind === "grad" ? "cnn.hist.grad_y" : "cnn.hist.weight_y"), { exponentformat: "e", range: [-target, target] }),
    };
    return Plotly.react(this.div, data, layout, PLOTLY_CONFIG);
  }

  resize() {
    if (this.drawn && this.div.offsetParent) Plotly.Plots.resize(this.div);
  }
}

export class Histograms {
  /** @param {{select: HTMLSelectElement, grad: HTMLElement, weight: HTMLElement, note: HTMLElement}} nodes */
  constructor({ select, grad, weight, note }) {
    this.select = select;
    this.note = note;
    this.grad = new HistogramHeatmap(grad, "grad");
    this.weight = new HistogramHeatmap(weight, "weight");
    this.names = "";
    this.chosen = null;
    this.stale = true;
    select.addEventListener("change", () => {
      this.chosen = select.value;
      this.stale = true;
    });
  }

  invalidate() {
    this.stale = true;
  }

  /** The parameter list from the newest snapshot; the first weight tensor unless one was chosen. */
  choices(store) {
    const last = store.snapshots.at(-1);
    const names = last ? [...last.weight.keys()] : [];
    if (names.join() !== this.names) {
      this.names = names.join();
      this.select.replaceChildren(...names.map((n) => el("option", { text: n, attrs: { value: n } })));
      this.stale = true;
    }
    if (!names.includes(this.chosen)) this.chosen = names.find((n) => n.endsWith(".weight")) ?? names[0] ?? null;
    if (this.chosen) this.select.value = this.chosen;
    return this.chosen;
  }

  update(store) {
    const name = this.choices(store);
    if (!name) return null;
    const stale = this.stale;
    this.stale = false;
    const shown = store.snapshots.length;
    this.note.textContent = t("cnn.hist.note", { n: shown, from: store.snapshots[0]?.step ?? 0, to: store.snapshots.at(-1)?.step ?? 0 });
    const a = this.grad.update(store.snapshots, name, stale);
    const b = this.weight.update(store.snapshots, name, stale);
    return Promise.all([a, b]);
  }

  resize() {
    this.grad.resize();
    this.weight.resize();
  }

  /** Read by tests: how many snapshot columns each heatmap shows. */
  get columns() {
    return { grad: this.grad.div.data?.[0]?.x?.length ?? 0, weight: this.weight.div.data?.[0]?.x?.length ?? 0 };
  }
}
