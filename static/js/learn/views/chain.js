// Lesson 3, the chain rule as a graph: u = W·x, ŷ = u + b, r = ŷ − t, L = r² drawn as nodes with their
// forward values; Step walks backward one node at a time (the server's order), lighting the node and the
// edge it feeds, and writes the local derivative by its rule (d(r²)/dr = 2r = 2·(−3) = −6), then local ×
// upstream = gradient, with the server's numbers (torch autograd). Above the graph, the general chain rule
// (f(g(W)))′ = f′(g(W))·g′(W) with the same numbers.
import { el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import * as api from "../api.js";
import { CodeBlock, pyLiteral, pyRepr } from "./code.js";
import { LessonForm } from "./form.js";
import { block, frac, m, mi, mn, mnLead, mo, partial, row, sup } from "./math.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const BOX = { w: 150, h: 70 };
const NARROW = 640; // px of graph width below which the graph is drawn top to bottom

// Where each node sits, in the wide (left to right) and the tall (top to bottom) drawing; "t" is the target,
// a constant with no gradient.
const LAYOUTS = {
  wide: {
    size: [1018, 330],
    at: { W: [14, 20], x: [14, 140], wx: [224, 78], b: [224, 222], y: [434, 140], t: [434, 252], r: [644, 196], L: [854, 196] },
  },
  tall: {
    size: [400, 560],
    at: { W: [14, 10], x: [236, 10], wx: [14, 122], b: [236, 122], y: [14, 234], t: [236, 234], r: [125, 358], L: [125, 470] },
  },
};
// The operation each node applies, as a badge (notation, not words).
const OPS = { wx: "×", y: "+", r: "−", L: "(·)²" };

const hat = (symbol) => m("mover", [mi(symbol), mo("^")], { accent: "true" });

/** The node's symbol as MathML: W, x, b, u = W·x, ŷ = u + b, r = ŷ − t, L = r². */
function symbol(id) {
  return { wx: () => mi("u"), y: () => hat("y") }[id]?.() ?? mi(id);
}

const paren = (...parts) => row(mo("("), ...parts, mo(")"));

/**
 * Each rule of a local derivative (app/lessons/chain.py): the derivative written with its operation, so it
 * never reads as ∂L/∂r = ∂L/∂r · ∂L/∂L, and, when it is not a constant, its formula and the values it is
 * taken at (node values from the server).
 */
const RULES = {
  square: () => ({
    of: frac(row(mi("d"), paren(sup(mi("r"), m("mn", ["2"])))), row(mi("d"), mi("r"))),
    formula: (v) => [row(m("mn", ["2"]), mi("r")), row(m("mn", ["2"]), mo("·"), mn(v.r))],
  }),
  minus_target: () => ({ of: partial(paren(hat("y"), mo("−"), mi("t")), hat("y")) }),
  sum: (source) => ({ of: partial(paren(mi("u"), mo("+"), mi("b")), symbol(source)) }),
  product: (source) => ({
    of: partial(paren(mi("W"), mo("·"), mi("x")), symbol(source)),
    formula: (v) => (source === "W" ? [mi("x"), mnLead(v.x)] : [mi("W"), mnLead(v.W)]),
  }),
};

function svg(tag, attrs = {}, children = []) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

export class ChainLesson {
  constructor() {
    this.answer = null;
    this.body = null;
    this.step = 0; // 0: forward values only; k: the first k nodes of the backward order have their gradient
    this.root = $("learn-graph");
    this.shape = null;
    this.onChange = () => {}; // told after every answer (the page rebuilds its "try it" link)
    this.code = new CodeBlock("learn-code-chain");
    this.form = new LessonForm({
      form: $("learn-chain-form"),
      error: $("learn-chain-error"),
      query: api.chain,
      onAnswer: (answer, body) => {
        this.answer = answer;
        this.body = body;
        this.step = Math.min(this.step, answer.order.length);
        this.render();
        this.onChange();
      },
    });
    $("learn-chain-step").addEventListener("click", () => this.go(this.step + 1));
    $("learn-chain-back").addEventListener("click", () => this.go(this.step - 1));
    $("learn-chain-reset").addEventListener("click", () => this.go(0));
    $("learn-chain-all").addEventListener("click", () => this.go(this.answer?.order.length ?? 0));
    new ResizeObserver(() => {
      if (this.answer && this.layoutName() !== this.shape) this.render();
    }).observe(this.root.parentElement);
  }

  load() {
    if (this.answer) {
      this.render();
      return Promise.resolve();
    }
    return this.form.submit();
  }

  go(step) {
    if (!this.answer) return;
    this.step = Math.max(0, Math.min(step, this.answer.order.length));
    this.render();
  }

  /** The room the graph has (its frame's width, not the drawing's, which the tall drawing caps). */
  layoutName() {
    const room = this.root.parentElement.clientWidth;
    return room && room < NARROW ? "tall" : "wide";
  }

  render() {
    const a = this.answer;
    if (!a) return;
    const nodes = new Map(a.nodes.map((n) => [n.id, n]));
    const done = new Set(a.order.slice(0, this.step));
    const current = this.step > 0 ? a.order[this.step - 1] : null;
    this.shape = this.layoutName();
    this.drawGraph(nodes, done, current);
    const total = a.order.length;
    $("learn-chain-counter").textContent = this.step === 0 ? t("learn.chain.counter_forward") : t("learn.chain.counter", { k: this.step, n: total });
    $("learn-chain-step").disabled = this.step >= total;
    $("learn-chain-back").disabled = this.step === 0;
    $("learn-chain-all").disabled = this.step >= total;
    this.explain(nodes, current);
    this.general(nodes);
    this.fillCode(nodes);
    const finished = this.step >= total;
    $("learn-chain-summary").hidden = !finished;
    if (finished) {
      $("learn-chain-dW").textContent = fmt(nodes.get("W").grad);
      $("learn-chain-db").textContent = fmt(nodes.get("b").grad);
      $("learn-chain-dx").textContent = fmt(nodes.get("x").grad);
    }
  }

  drawGraph(nodes, done, current) {
    const { size, at } = LAYOUTS[this.shape];
    const wide = this.shape === "wide";
    const anchor = (id, out) => {
      const [x, y] = at[id];
      return wide ? [out ? x + BOX.w : x, y + BOX.h / 2] : [x + BOX.w / 2, out ? y + BOX.h : y];
    };
    const edgeNodes = [];
    const labels = [];
    const edges = [...this.answer.edges, { source: "t", target: "r", constant: true }];
    for (const edge of edges) {
      const [x1, y1] = anchor(edge.source, true);
      const [x2, y2] = anchor(edge.target, false);
      const bend = wide ? `C ${(x1 + x2) / 2} ${y1}, ${(x1 + x2) / 2} ${y2},` : `C ${x1} ${(y1 + y2) / 2}, ${x2} ${(y1 + y2) / 2},`;
      const lit = edge.source === current;
      const back = done.has(edge.source);
      const state = lit ? "current" : back ? "done" : "forward";
      edgeNodes.push(svg("path", { d: `M ${x1} ${y1} ${bend} ${x2} ${y2}`, class: "graph-edge", "data-state": state, "marker-end": "url(#learn-arrow)" }));
      if (back && !edge.constant) {
        // the local derivative ∂target/∂source, written on the edge once the walk has passed it
        const text = t("learn.chain.edge_local", { d: fmt(edge.local) });
        const [mx, my] = [(x1 + x2) / 2, (y1 + y2) / 2];
        const width = 10 + [...text].reduce((w, ch) => w + (ch.charCodeAt(0) > 0x2e80 ? 12 : 6.8), 0); // CJK is wider
        labels.push(
          svg("g", { class: "graph-edge-label", "data-state": state, transform: `translate(${mx} ${my})` }, [
            svg("rect", { x: -width / 2, y: -10, width, height: 20, rx: 6 }),
            svg("text", { x: 0, y: 4, "text-anchor": "middle" }, [text]),
          ]),
        );
      }
    }
    const boxes = [];
    for (const id of Object.keys(at)) {
      const [x, y] = at[id];
      const node = nodes.get(id);
      const kind = id === "t" ? "constant" : OPS[id] ? "op" : "leaf";
      const state = id === current ? "current" : done.has(id) ? "done" : "forward";
      const parts = [svg("rect", { width: BOX.w, height: BOX.h, rx: 9, class: "graph-box" })];
      if (OPS[id]) {
        // the operation's badge, inside the box on the right, clear of the edges that come in on the left
        const [cx, cy] = [BOX.w - 19, 19];
        parts.push(svg("circle", { cx, cy, r: 13, class: "graph-op" }), svg("text", { x: cx, y: cy + 4.5, "text-anchor": "middle", class: "graph-op-text" }, [OPS[id]]));
      }
      const label = id === "t" ? t("learn.chain.target_label") : node.label;
      const value = id === "t" ? this.body.target : node.value;
      parts.push(
        svg("text", { x: 12, y: 21, class: "graph-label" }, [label]),
        svg("text", { x: 12, y: 41, class: "graph-value" }, [t("learn.chain.node_value", { v: fmt(value) })]),
      );
      if (id !== "t" && (done.has(id) || id === current)) {
        parts.push(svg("text", { x: 12, y: 60, class: "graph-grad" }, [t("learn.chain.node_grad", { g: fmt(node.grad) })]));
      }
      boxes.push(svg("g", { class: "graph-node", "data-id": id, "data-kind": kind, "data-state": state, transform: `translate(${x} ${y})` }, parts));
    }
    const defs = svg("defs", {}, [
      svg("marker", { id: "learn-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, [
        svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "graph-arrow" }),
      ]),
    ]);
    this.root.setAttribute("viewBox", `0 0 ${size[0]} ${size[1]}`);
    this.root.dataset.shape = this.shape;
    this.root.replaceChildren(defs, ...edgeNodes, ...boxes, ...labels);
  }

  /** (f(g(W)))′ = f′(g(W))·g′(W) = 2r·x = 2·(−3)·3 = −18, with f(r) = r², g(W) = W·x + b − t. */
  general(nodes) {
    const r = nodes.get("r").value;
    const x = nodes.get("x").value;
    $("learn-chain-general").replaceChildren(
      block(
        frac(row(mi("d"), mi("L")), row(mi("d"), mi("W"))),
        mo("="),
        sup(mi("f"), mo("′")),
        paren(mi("g"), paren(mi("W"))),
        mo("·"),
        sup(mi("g"), mo("′")),
        paren(mi("W")),
        mo("="),
        m("mn", ["2"]),
        mi("r"),
        mo("·"),
        mi("x"),
        mo("="),
        m("mn", ["2"]),
        mo("·"),
        mn(r),
        mo("·"),
        mn(x),
        mo("="),
        mnLead(nodes.get("W").grad),
      ),
    );
  }

  /** The lesson's PyTorch code with these inputs, and what it prints: the server's (autograd's) numbers. */
  fillCode(nodes) {
    const b = this.body;
    this.code.fill({ W: pyLiteral(b.W), b: pyLiteral(b.b), x: pyLiteral(b.x), target: pyLiteral(b.target) });
    this.code.prints([
      `L = ${pyRepr(nodes.get("L").value)}`,
      `dL/dW = ${pyRepr(nodes.get("W").grad)}`,
      `dL/db = ${pyRepr(nodes.get("b").grad)}`,
      `dL/dx = ${pyRepr(nodes.get("x").grad)}`,
    ]);
  }

  /** What the current step computes: the local derivative by its rule, then local × upstream = gradient. */
  explain(nodes, current) {
    const box = $("learn-chain-explain");
    if (!current) {
      box.replaceChildren(el("p", { text: t("learn.chain.explain_forward", { L: fmt(nodes.get("L").value) }) }));
      return;
    }
    const node = nodes.get(current);
    if (current === this.answer.order[0]) {
      box.replaceChildren(el("p", { text: t("learn.chain.explain_start") }), block(partial("L", "L"), mo("="), mnLead(node.grad)));
      return;
    }
    const values = { r: nodes.get("r").value, x: nodes.get("x").value, W: nodes.get("W").value };
    const parts = [];
    for (const edge of this.answer.edges.filter((e) => e.source === current)) {
      const rule = RULES[edge.rule](edge.source); // called again below: a MathML node has one place
      const target = nodes.get(edge.target);
      const name = (id) => ({ wx: "u", y: "ŷ" })[id] ?? id;
      // d(r²)/dr = 2r = 2·(−3) = −6; ∂(W·x)/∂W = x = 3; ∂(ŷ − t)/∂ŷ = 1
      const local = [rule.of, mo("=")];
      if (rule.formula) for (const piece of rule.formula(values)) local.push(piece, mo("="));
      local.push(mnLead(edge.local));
      parts.push(
        el("p", { text: t("learn.chain.explain_local", { node: name(current), target: target.label, symbol: name(current) }) }),
        block(...local),
        el("p", { text: t("learn.chain.explain_upstream", { target: name(edge.target) }) }),
        block(partial("L", symbol(current)), mo("="), RULES[edge.rule](edge.source).of, mo("×"), partial("L", symbol(edge.target)), mo("="), mnLead(edge.local), mo("×"), mn(edge.upstream), mo("="), mnLead(edge.product)),
        el("p", { className: "chain-words", text: t("learn.chain.explain_words", { local: fmt(edge.local), up: fmt(edge.upstream), g: fmt(edge.product) }) }),
      );
    }
    parts.push(el("p", { className: "chain-check", text: t("learn.chain.explain_autograd", { g: fmt(node.grad) }) }));
    box.replaceChildren(...parts);
  }
}
