// The network card: a preset, CNN or MLP, the convolution blocks (channels, kernel, pooling), the dense
// layers (depth, width), activation, batch norm, dropout, initialisation, and the parameter count.
// Every change is one call to onChange({field: value}); the server's state comes back through refresh().
import { el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import { ACTIVATIONS, CHANNELS, DEFAULT_BLOCK, INITS, KERNELS, MAX_BLOCKS, POOLS, PRESETS, WIDTHS } from "../config.js";

const POOL_LABELS = { none: "cnn.pool.none", max: "cnn.pool.max", avg: "cnn.pool.avg" };
const ACTIVATION_LABELS = {
  relu: "cnn.act.relu",
  leaky_relu: "cnn.act.leaky_relu",
  tanh: "cnn.act.tanh",
  sigmoid: "cnn.act.sigmoid",
  gelu: "cnn.act.gelu",
};
const INIT_LABELS = {
  default: "cnn.init.default",
  xavier: "cnn.init.xavier",
  kaiming: "cnn.init.kaiming",
  too_small: "cnn.init.too_small",
  too_large: "cnn.init.too_large",
};
export const PRESET_LABELS = {
  default_cnn: ["cnn.preset.default_cnn", "cnn.preset.default_cnn_hint"],
  deep_sigmoid: ["cnn.preset.deep_sigmoid", "cnn.preset.deep_sigmoid_hint"],
  sigmoid_bn: ["cnn.preset.sigmoid_bn", "cnn.preset.sigmoid_bn_hint"],
  relu_kaiming: ["cnn.preset.relu_kaiming", "cnn.preset.relu_kaiming_hint"],
  too_large: ["cnn.preset.too_large", "cnn.preset.too_large_hint"],
  too_small: ["cnn.preset.too_small", "cnn.preset.too_small_hint"],
  edge_of_stability: ["cnn.preset.edge_of_stability", "cnn.preset.edge_of_stability_hint"],
};
const CUSTOM = "";

function options(select, entries) {
  select.replaceChildren(...entries.map(([value, text]) => el("option", { text, attrs: { value: String(value) } })));
}

export class ModelForm {
  /** @param {{onChange: (partial: object) => void, onPreset: (id: string) => void}} handlers */
  constructor(handlers) {
    const $ = (id) => document.getElementById(id);
    this.handlers = handlers;
    this.preset = $("cnn-preset");
    this.presetHint = $("cnn-preset-hint");
    this.kinds = [...document.querySelectorAll("#cnn-kind [data-kind]")];
    this.blocksBox = $("cnn-blocks-box");
    this.blocks = $("cnn-blocks");
    this.addBlock = $("cnn-add-block");
    this.depth = $("cnn-depth");
    this.depthValue = $("cnn-depth-value");
    this.width = $("cnn-width");
    this.activation = $("cnn-activation");
    this.init = $("cnn-init");
    this.bn = $("cnn-bn");
    this.dropout = $("cnn-dropout");
    this.dropoutValue = $("cnn-dropout-value");
    this.count = $("cnn-param-count");
    this.model = null;

    this.preset.addEventListener("change", () => {
      if (this.preset.value) handlers.onPreset(this.preset.value);
    });
    for (const button of this.kinds) button.addEventListener("click", () => handlers.onChange({ kind: button.dataset.kind }));
    this.addBlock.addEventListener("click", () => {
      const blocks = this.model.blocks;
      if (blocks.length < MAX_BLOCKS) handlers.onChange({ blocks: [...blocks, { ...DEFAULT_BLOCK, channels: blocks.at(-1)?.channels ?? 16 }] });
    });
    // Sliders say their value while dragged and send it when let go: one new network, not twenty.
    this.depth.addEventListener("input", () => {
      this.depthValue.textContent = this.depth.value;
    });
    this.depth.addEventListener("change", () => handlers.onChange({ depth: Number(this.depth.value) }));
    this.dropout.addEventListener("input", () => {
      this.dropoutValue.textContent = fmt(Number(this.dropout.value), 2);
    });
    this.dropout.addEventListener("change", () => handlers.onChange({ dropout: Number(this.dropout.value) }));
    this.width.addEventListener("change", () => handlers.onChange({ width: Number(this.width.value) }));
    this.activation.addEventListener("change", () => handlers.onChange({ activation: this.activation.value }));
    this.init.addEventListener("change", () => handlers.onChange({ init: this.init.value }));
    this.bn.addEventListener("change", () => handlers.onChange({ batch_norm: this.bn.checked }));
  }

  /** The option lists, in the current language. */
  render() {
    options(this.preset, [
      [CUSTOM, t("cnn.preset.custom")],
      ...PRESETS.map((p) => [p.id, t(PRESET_LABELS[p.id][0])]),
    ]);
    this.preset.options[0].disabled = true;
    options(this.width, WIDTHS.map((w) => [w, String(w)]));
    options(this.activation, ACTIVATIONS.map((a) => [a, t(ACTIVATION_LABELS[a])]));
    options(this.init, INITS.map((i) => [i, t(INIT_LABELS[i])]));
    if (this.model) this.refresh(this.model, this.presetId, this.parameters, true);
  }

  /** Show this model (the server's), the preset it matches (or none) and its parameter count. */
  refresh(model, presetId, parameters, rebuild = false) {
    const blocksChanged = rebuild || !this.model || JSON.stringify(this.model.blocks) !== JSON.stringify(model.blocks);
    this.model = structuredClone(model);
    this.presetId = presetId;
    this.parameters = parameters;
    this.preset.value = presetId ?? CUSTOM;
    this.presetHint.textContent = presetId ? t(PRESET_LABELS[presetId][1]) : t("cnn.preset.custom_hint");
    for (const button of this.kinds) button.setAttribute("aria-pressed", String(button.dataset.kind === model.kind));
    this.blocksBox.hidden = model.kind !== "cnn";
    if (blocksChanged) this.renderBlocks(model.blocks);
    this.addBlock.disabled = model.blocks.length >= MAX_BLOCKS;
    if (document.activeElement !== this.depth) this.depth.value = String(model.depth);
    this.depthValue.textContent = String(model.depth);
    if (![...this.width.options].some((o) => Number(o.value) === model.width)) {
      this.width.append(el("option", { text: String(model.width), attrs: { value: String(model.width) } }));
    }
    this.width.value = String(model.width);
    this.activation.value = model.activation;
    this.init.value = model.init;
    this.bn.checked = model.batch_norm;
    if (document.activeElement !== this.dropout) this.dropout.value = String(model.dropout);
    this.dropoutValue.textContent = fmt(model.dropout, 2);
    this.count.textContent = parameters === null ? "" : t("cnn.model.parameters", { n: parameters.toLocaleString("en-US") });
  }

  renderBlocks(blocks) {
    const rows = blocks.map((block, index) => {
      const change = (field, value) => {
        const next = structuredClone(this.model.blocks);
        next[index][field] = value;
        this.handlers.onChange({ blocks: next });
      };
      const select = (label, entries, value, field, parse) => {
        const node = el("select", { className: "cnn-block-select", title: t(label) });
        node.setAttribute("aria-label", t("cnn.model.block_field", { n: index + 1, field: t(label) }));
        options(node, entries);
        if (![...node.options].some((o) => o.value === String(value))) node.append(el("option", { text: String(value), attrs: { value: String(value) } }));
        node.value = String(value);
        node.addEventListener("change", () => change(field, parse(node.value)));
        return node;
      };
      const remove = el("button", { className: "icon-btn icon-remove", title: t("cnn.model.remove_block"), attrs: { type: "button" } });
      remove.setAttribute("aria-label", t("cnn.model.remove_block"));
      remove.disabled = blocks.length <= 1;
      remove.addEventListener("click", () => this.handlers.onChange({ blocks: this.model.blocks.filter((_, i) => i !== index) }));
      return el("li", { className: "cnn-block", dataset: { block: String(index + 1) } }, [
        el("span", { className: "cnn-block-name", text: t("cnn.model.block", { n: index + 1 }) }),
        select("cnn.model.channels", CHANNELS.map((c) => [c, t("cnn.model.channels_value", { n: c })]), block.channels, "channels", Number),
        select("cnn.model.kernel", KERNELS.map((k) => [k, t("cnn.model.kernel_value", { k })]), block.kernel, "kernel", Number),
        select("cnn.model.pool", POOLS.map((p) => [p, t(POOL_LABELS[p])]), block.pool, "pool", String),
        remove,
      ]);
    });
    this.blocks.replaceChildren(...rows);
  }
}
