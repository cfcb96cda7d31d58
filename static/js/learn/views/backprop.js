// Lesson 4, backpropagation layer by layer: a small network on one sample (POST /api/lessons/backprop).
// Step walks forward (z and a, layer by layer) then backward (δ from the output down), each step written
// out with the server's numbers, every W and b shown (z = W·a + b can be redone by hand), δ(l) =
// (W(l+1)ᵀ δ(l+1)) ⊙ σ′(z(l)); the bars are ‖∂L/∂W(l)‖ per layer, and the findings below them say what
// these numbers show: the first layer's gradient against the last one's, and ReLU layers that are off.
import { el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import * as api from "../api.js";
import { CodeBlock, pyG, pyLiteral } from "./code.js";
import { LessonForm } from "./form.js";
import { block, column, m, matrix, mi, mn, mo, partial, row, vector } from "./math.js";
import { layout, plot } from "./plots.js";

const $ = (id) => document.getElementById(id);
const BAR = { sigmoid: "#ff8c42", relu: "#3ddc97" };

/** A vector for a layer card: [0.5, −1, 0.25]. */
const bracket = (values) => `[${values.map((v) => fmt(v, 3)).join(", ")}]`;

const layerSym = (base, l) => m("msup", [mi(base), row(mo("("), m("mn", [String(l)]), mo(")"))]);

const SAMPLE = Object.freeze({ x: [0.5, -1.0], target: 1.0, width: 3 }); // what the form does not ask for

/** Layer numbers as the learner reads them: 1, 2, 3. */
const list = (layers) => layers.join(", ");

export class BackpropLesson {
  constructor() {
    this.answer = null;
    this.body = null;
    this.step = 0; // 0: the sample only; 1…L forward through layer k; L+1…2L backward down to layer 2L+1−k
    this.chart = $("learn-backprop-chart");
    this.code = new CodeBlock("learn-code-backprop");
    this.form = new LessonForm({
      form: $("learn-backprop-form"),
      error: $("learn-backprop-error"),
      query: api.backprop,
      extra: () => ({ ...SAMPLE, x: [...SAMPLE.x] }),
      onAnswer: (answer, body) => {
        this.answer = answer;
        this.body = body;
        this.step = Math.min(this.step, 2 * answer.layers.length);
        return this.render();
      },
    });
    $("learn-backprop-step").addEventListener("click", () => this.go(this.step + 1));
    $("learn-backprop-back").addEventListener("click", () => this.go(this.step - 1));
    $("learn-backprop-reset").addEventListener("click", () => this.go(0));
    $("learn-backprop-all").addEventListener("click", () => this.go(2 * (this.answer?.layers.length ?? 0)));
  }

  load() {
    return this.answer ? this.render() : this.form.submit();
  }

  go(step) {
    if (!this.answer) return;
    this.step = Math.max(0, Math.min(step, 2 * this.answer.layers.length));
    this.render();
  }

  /** Layers (1-based) reached forward, reached backward, and the one the current step computes. */
  phase() {
    const depth = this.answer.layers.length;
    const s = this.step;
    const forward = Math.min(s, depth);
    const backward = Math.max(0, s - depth); // layers depth, depth−1, … have their δ
    const current = s === 0 ? null : s <= depth ? { dir: "forward", layer: s } : { dir: "backward", layer: depth + 1 - backward };
    return { depth, forward, backward, current };
  }

  render() {
    const a = this.answer;
    if (!a) return;
    const { depth, forward, backward, current } = this.phase();
    const total = 2 * depth;
    $("learn-backprop-counter").textContent =
      this.step === 0
        ? t("learn.backprop.counter_start")
        : t(current.dir === "forward" ? "learn.backprop.counter_forward" : "learn.backprop.counter_backward", { k: this.step, n: total, l: current.layer });
    $("learn-backprop-step").disabled = this.step >= total;
    $("learn-backprop-all").disabled = this.step >= total;
    $("learn-backprop-back").disabled = this.step === 0;
    $("learn-backprop-sample").textContent = t("learn.backprop.sample", { x: this.body.x.map((v) => fmt(v)).join(", "), t: fmt(this.body.target) });
    $("learn-backprop-result").textContent = forward === depth ? t("learn.backprop.result", { yhat: fmt(a.prediction), loss: fmt(a.loss) }) : "";

    const cards = a.layers.map((layer) => {
      const l = layer.layer;
      const seenForward = l <= forward;
      const seenBackward = l > depth - backward;
      const state = current?.layer === l ? "current" : seenForward || seenBackward ? "done" : "waiting";
      const last = l === depth;
      const rows = [];
      const line = (key, values, kind) =>
        el("div", { className: "vec-row", dataset: { kind } }, [el("span", { className: "vec-name", text: t(key) }), el("span", { className: "vec", text: bracket(values) })]);
      if (seenForward) {
        rows.push(
          el("div", { className: "vec-row", dataset: { kind: "W" } }, [
            el("span", { className: "vec-name", text: t("learn.backprop.row_weight") }),
            el("span", { className: "vec vec-matrix" }, layer.weight.map((r) => el("span", { text: bracket(r) }))),
          ]),
          line("learn.backprop.row_bias", layer.bias, "b"),
          line("learn.backprop.row_z", layer.z, "z"),
          last
            ? line("learn.backprop.row_out", layer.a, "a")
            : el("div", { className: "vec-row", dataset: { kind: "a" } }, [
                el("span", { className: "vec-name", text: t("learn.backprop.row_a", { sigma: this.sigmaName() }) }),
                el("span", { className: "vec", text: bracket(layer.a) }),
              ]),
        );
      }
      if (seenBackward) {
        rows.push(
          line("learn.backprop.row_upstream", layer.upstream, "upstream"),
          line(last ? "learn.backprop.row_dsigma_out" : "learn.backprop.row_dsigma", layer.dsigma, "dsigma"),
          line("learn.backprop.row_delta", layer.delta, "delta"),
          el("div", { className: "vec-row", dataset: { kind: "norm" } }, [
            el("span", { className: "vec-name", text: t("learn.backprop.row_norm") }),
            el("span", { className: "vec", text: fmt(layer.weight_grad_norm, 3) }),
          ]),
        );
      }
      if (!rows.length) rows.push(el("p", { className: "hint", text: t("learn.backprop.waiting") }));
      return el("section", { className: "layer-card", dataset: { state, layer: String(l) } }, [
        el("h3", { text: last ? t("learn.backprop.layer_out", { l }) : t("learn.backprop.layer", { l }) }),
        ...rows,
      ]);
    });
    $("learn-backprop-layers").replaceChildren(...cards);
    this.explain(current);
    this.findings(backward === depth);
    this.fillCode();
    return this.drawNorms(backward);
  }

  sigmaName() {
    return this.answer.activation === "relu" ? t("learn.backprop.relu") : t("learn.backprop.sigmoid");
  }

  /** What the norms show, once the backward pass has reached every layer: the server's ratio and lists. */
  findings(done) {
    const box = $("learn-backprop-findings");
    box.hidden = !done;
    if (!done) return box.replaceChildren();
    const a = this.answer;
    const first = a.layers[0].weight_grad_norm;
    const last = a.layers[a.layers.length - 1].weight_grad_norm;
    const words = { first: fmt(first, 3), last: fmt(last, 3) };
    const lines = [];
    const ratio = a.norm_ratio;
    if (ratio === null) lines.push(el("p", { text: t("learn.backprop.finding_none") }));
    else if (ratio > 0) {
      // a first layer with no gradient at all is said below, with the layers it takes along
      const key = ratio < 0.5 ? "learn.backprop.finding_smaller" : ratio > 2 ? "learn.backprop.finding_larger" : "learn.backprop.finding_equal";
      lines.push(el("p", { text: t(key, { ...words, times: fmt(ratio < 1 ? 1 / ratio : ratio, 3) }) }));
    }
    if (a.off_layers.length) lines.push(el("p", { text: t("learn.backprop.finding_off", { layers: list(a.off_layers) }) }));
    if (a.zero_grad_layers.length && a.norm_ratio !== null) {
      lines.push(el("p", { text: t("learn.backprop.finding_zero", { layers: list(a.zero_grad_layers) }) }));
    }
    box.replaceChildren(...lines);
  }

  /** The lesson's PyTorch code for this network, and what it prints: the server's numbers, as .6g. */
  fillCode() {
    const a = this.answer;
    const b = this.body;
    const sizes = [b.x.length, ...Array(a.layers.length - 1).fill(b.width), 1];
    this.code.fill({
      seed: pyLiteral(b.seed, { whole: true }),
      act: a.activation === "relu" ? "torch.relu" : "torch.sigmoid",
      sizes: pyLiteral(sizes, { whole: true }),
      sample: pyLiteral(b.x),
      target: pyLiteral(b.target),
    });
    this.code.prints([
      `y_hat = ${pyG(a.prediction)}`,
      `L = ${pyG(a.loss)}`,
      ...a.layers.map((layer) => `layer ${layer.layer}: |dL/dW| = ${pyG(layer.weight_grad_norm)}`),
    ]);
  }

  explain(current) {
    const box = $("learn-backprop-explain");
    if (!current) {
      box.replaceChildren(el("p", { text: t("learn.backprop.explain_start") }));
      return;
    }
    const layer = this.answer.layers[current.layer - 1];
    const l = current.layer;
    const last = l === this.answer.layers.length;
    const sigma = this.sigmaName();
    if (current.dir === "forward") {
      const prev = l === 1 ? mi("x") : layerSym("a", l - 1);
      const input = l === 1 ? this.body.x : this.answer.layers[l - 2].a;
      // z(l) = W(l) a(l−1) + b(l) = [W] [a] + [b] = [z], the numbers to redo by hand
      box.replaceChildren(
        el("p", { text: t(last ? "learn.backprop.explain_forward_out" : "learn.backprop.explain_forward", { l, sigma }) }),
        block(layerSym("z", l), mo("="), layerSym("W", l), prev, mo("+"), layerSym("b", l), mo("="), matrix(layer.weight), column(input), mo("+"), column(layer.bias), mo("="), column(layer.z)),
        last ? block(mi("ŷ"), mo("="), layerSym("z", l), mo("="), vector(layer.a)) : block(layerSym("a", l), mo("="), mi(sigma), row(mo("("), layerSym("z", l), mo(")")), mo("="), vector(layer.a)),
      );
      return;
    }
    if (last) {
      box.replaceChildren(
        el("p", { text: t("learn.backprop.explain_output", { l }) }),
        block(layerSym("δ", l), mo("="), mi("ŷ"), mo("−"), mi("t"), mo("="), vector(layer.delta)),
        this.gradLine(layer, l),
      );
      return;
    }
    const transposed = m("msup", [mi("W"), row(mo("("), m("mn", [String(l + 1)]), mo(")"), mo("⊤"))]);
    box.replaceChildren(
      el("p", { text: t("learn.backprop.explain_backward", { l, next: l + 1, sigma }) }),
      block(
        layerSym("δ", l),
        mo("="),
        row(mo("("), transposed, layerSym("δ", l + 1), mo(")")),
        mo("⊙"),
        row(mi("σ′"), mo("("), layerSym("z", l), mo(")")),
        mo("="),
        vector(layer.upstream),
        mo("⊙"),
        vector(layer.dsigma),
        mo("="),
        vector(layer.delta),
      ),
      this.gradLine(layer, l),
    );
  }

  gradLine(layer, l) {
    const bar = () => m("mo", ["‖"], { stretchy: "true", fence: "true" });
    return block(row(bar(), partial("L", layerSym("W", l)), bar()), mo("="), mn(layer.weight_grad_norm, 3));
  }

  drawNorms(backward) {
    // Every layer has its place on the axis from the start; a bar appears once the backward pass reaches it.
    const layers = this.answer.layers;
    const reached = (layer) => layer.layer > layers.length - backward;
    return plot(
      this.chart,
      [
        {
          type: "bar",
          x: layers.map((layer) => t("learn.backprop.bar_layer", { l: layer.layer })),
          y: layers.map((layer) => (reached(layer) && layer.weight_grad_norm > 0 ? layer.weight_grad_norm : null)), // 0: no bar on a log axis
          text: layers.map((layer) => (reached(layer) ? fmt(layer.weight_grad_norm, 3) : "")),
          textposition: "outside",
          cliponaxis: false,
          marker: { color: BAR[this.answer.activation] },
        },
      ],
      layout("", t("learn.backprop.axis_norm"), {
        margin: { l: 52, r: 10, t: 18, b: 30 },
        yaxis: { ...layout("", t("learn.backprop.axis_norm")).yaxis, type: "log", exponentformat: "power", rangemode: "normal" },
      }),
    );
  }
}
