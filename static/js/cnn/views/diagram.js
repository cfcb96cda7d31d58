// The network as a row of blocks, input to loss, each coloured by the gradient that reaches it:
// ‖∂L/∂a‖, the norm of the loss's gradient with respect to the block's output, on a log colour scale.
// A block is a weight layer and what follows it (conv1, bn1, act1, pool1); its stripes colour each of
// those layers. Backprop runs right to left: a gradient that fades on its way to the input is visible.
import { el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import { GRADIENT_DECADES, gradientColor, gradientCss, NO_GRADIENT, textOn } from "./scale.js";

const KIND_LABELS = {
  conv: "cnn.kind.conv",
  linear: "cnn.kind.linear",
  activation: "cnn.kind.activation",
  pool: "cnn.kind.pool",
  batch_norm: "cnn.kind.batch_norm",
  dropout: "cnn.kind.dropout",
  flatten: "cnn.kind.flatten",
};

/** Layers grouped by the number in their names (conv1, bn1, act1, pool1 → one block); flatten and out alone. */
export function groupLayers(layers) {
  const groups = [];
  for (const layer of layers) {
    const key = /\d+$/.exec(layer.name)?.[0] ?? layer.name;
    const last = groups[groups.length - 1];
    if (last && last.key === key) last.layers.push(layer);
    else groups.push({ key, layers: [layer] });
  }
  for (const g of groups) g.main = g.layers.find((l) => l.kind === "conv" || l.kind === "linear") ?? g.layers[0];
  return groups;
}

const shape = (dims) => dims.join("×");
const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
/** 10^d as it is printed: 10⁻⁶. */
const decade = (d) => `10${[...String(d)].map((c) => SUPERSCRIPT[c]).join("")}`;

export class NetworkDiagram {
  /** @param {{root: HTMLElement, legend: HTMLElement, tooltip: import("./tooltip.js").Tooltip}} nodes */
  constructor({ root, legend, tooltip }) {
    this.root = root;
    this.legend = legend;
    this.tooltip = tooltip;
    this.groups = [];
    this.report = null;
    this.colors = new Map(); // layer name → the colour shown (read by tests through the hook)
    this.hovered = null; // {group, at}: the block whose numbers the tooltip shows, kept up to date
    root.addEventListener("pointerleave", () => this.leave());
  }

  leave() {
    this.hovered = null;
    this.tooltip.hide();
  }

  /** Build the blocks of this network (from cnn_state.layers). */
  render(layers) {
    this.groups = groupLayers(layers);
    const input = el("li", { className: "cnn-node cnn-node-end", title: t("cnn.diagram.input_detail") }, [
      el("span", { className: "cnn-node-name", text: t("cnn.diagram.input") }),
      el("span", { className: "cnn-node-shape", text: shape([1, 8, 8]) }),
    ]);
    const loss = el("li", { className: "cnn-node cnn-node-end", title: t("cnn.diagram.loss_detail") }, [
      el("span", { className: "cnn-node-name", text: t("cnn.diagram.loss") }),
      el("span", { className: "cnn-node-shape", text: t("cnn.diagram.loss_symbol") }),
    ]);
    const blocks = this.groups.map((g) => {
      const stripes = el(
        "span",
        { className: "cnn-stripes" },
        g.layers.map((l) => el("span", { className: "cnn-stripe", dataset: { layer: l.name } })),
      );
      const node = el("li", { className: "cnn-node", dataset: { group: g.key, kind: g.main.kind } }, [
        el("span", { className: "cnn-node-name", text: g.main.name }),
        el("span", { className: "cnn-node-detail", text: g.main.detail }),
        stripes,
        el("span", { className: "cnn-node-shape", text: shape(g.layers[g.layers.length - 1].output_shape) }),
        el("span", { className: "cnn-node-value", text: "" }),
      ]);
      node.tabIndex = 0;
      node.addEventListener("pointermove", (event) => this.hover(g, event));
      node.addEventListener("focus", () => {
        const box = node.getBoundingClientRect();
        this.hover(g, { clientX: box.left, clientY: box.bottom });
      });
      node.addEventListener("blur", () => this.leave());
      g.node = node;
      return node;
    });
    this.leave();
    this.root.replaceChildren(input, ...blocks, loss);
    this.renderLegend();
    this.update(null);
  }

  renderLegend() {
    const [lo, hi] = GRADIENT_DECADES;
    const ticks = [];
    for (let d = lo; d <= hi; d += 1) {
      if ((d - lo) % 2 === 0) ticks.push(el("span", { className: "cnn-scale-tick", text: decade(d), attrs: { style: `left:${(100 * (d - lo)) / (hi - lo)}%` } }));
    }
    this.legend.replaceChildren(
      el("span", { className: "cnn-backward", text: t("cnn.diagram.backward") }),
      el("span", { className: "cnn-scale" }, [
        el("span", { className: "cnn-scale-name", text: t("cnn.diagram.scale") }),
        el("span", { className: "cnn-scale-bar", attrs: { style: `background:${gradientCss()}` } }, ticks),
      ]),
    );
  }

  /** Colour every block and stripe from this step's ‖∂L/∂a‖ (null: not measured yet). */
  update(report) {
    this.report = report;
    const grads = new Map();
    if (report?.layers) report.layers.names.forEach((name, i) => grads.set(name, report.layers.grad_norm[i]));
    for (const g of this.groups) {
      const value = grads.has(g.main.name) ? grads.get(g.main.name) : null;
      const color = report && grads.has(g.main.name) ? gradientColor(value) : NO_GRADIENT;
      g.node.style.setProperty("--node", color);
      g.node.style.setProperty("--node-text", textOn(color));
      this.colors.set(g.main.name, color);
      g.node.querySelector(".cnn-node-value").textContent = grads.has(g.main.name) ? fmt(value, 2) : "";
      for (const stripe of g.node.querySelectorAll(".cnn-stripe")) {
        const name = stripe.dataset.layer;
        const c = report && grads.has(name) ? gradientColor(grads.get(name)) : NO_GRADIENT;
        stripe.style.background = c;
        if (name !== g.main.name) this.colors.set(name, c);
      }
    }
    if (this.hovered) this.hover(this.hovered.group, this.hovered.at);
  }

  /** Exact numbers of a block's layers and parameters, from the newest step. */
  hover(group, at) {
    this.hovered = { group, at: { clientX: at.clientX, clientY: at.clientY } };
    const r = this.report;
    const rows = [];
    for (const layer of group.layers) {
      rows.push([layer.name, `${t(KIND_LABELS[layer.kind] ?? "cnn.kind.other")} · ${shape(layer.output_shape)}`]);
      const i = r?.layers ? r.layers.names.indexOf(layer.name) : -1;
      if (i >= 0) {
        rows.push([t("cnn.diagram.grad_norm"), fmt(r.layers.grad_norm[i], 4)]);
        rows.push([t("cnn.diagram.activation"), t("cnn.diagram.mean_std", { mean: fmt(r.layers.act_mean[i], 3), std: fmt(r.layers.act_std[i], 3) })]);
        if (r.layers.dead_fraction[i] !== null) rows.push([t("cnn.diagram.dead"), `${fmt(100 * r.layers.dead_fraction[i], 3)}%`]);
      }
      for (const p of layer.parameters) {
        const j = r?.params ? r.params.names.indexOf(p.name) : -1;
        rows.push([p.name, shape(p.shape)]);
        if (j >= 0) {
          rows.push([t("cnn.diagram.param_grad"), fmt(r.params.grad_norm[j], 4)]);
          rows.push([t("cnn.diagram.param_weight"), fmt(r.params.weight_norm[j], 4)]);
          rows.push([t("cnn.diagram.param_ratio"), fmt(r.params.update_ratio[j], 3)]);
        }
      }
    }
    const title = r ? t("cnn.diagram.tip_title", { name: group.main.name, step: r.step }) : group.main.name;
    this.tooltip.show(at, title, rows);
  }
}
