// Lesson 1, what a gradient is: J(x) = (x − t)² with its tangent at x, the gradient's sign, the step it
// makes and where it lands against t (the server's outcome: short of t, on it, past it and closer, the
// mirror point, past it and farther). Every number is the server's (POST /api/lessons/gradient, autograd).
import { fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import * as api from "../api.js";
import { CodeBlock, pyLiteral, pyRepr } from "./code.js";
import { LessonForm } from "./form.js";
import { block, mi, mn, mnLead, mo, row, sup } from "./math.js";
import { COLORS, layout, plot } from "./plots.js";

const $ = (id) => document.getElementById(id);

const SIGN = Object.freeze({ negative: "learn.gradient.sign_negative", positive: "learn.gradient.sign_positive", zero: "learn.gradient.sign_zero" });
// Where the step lands against t (app/lessons/gradient.py step_outcome); at_minimum says nothing more.
const OUTCOME = Object.freeze({
  toward: "learn.gradient.outcome_toward",
  lands: "learn.gradient.outcome_lands",
  overshoots_closer: "learn.gradient.outcome_overshoots_closer",
  mirror: "learn.gradient.outcome_mirror",
  overshoots_farther: "learn.gradient.outcome_overshoots_farther",
});

/** A value card's number: as fmt, but a whole number keeps one decimal (−4.0), as a worked example writes it. */
function decimal(v) {
  return Number.isInteger(v) && Math.abs(v) < 1e5 ? `${fmt(v)}.0` : fmt(v);
}

export class GradientLesson {
  constructor() {
    this.answer = null;
    this.body = null;
    this.chart = $("learn-gradient-chart");
    this.code = new CodeBlock("learn-code-gradient");
    this.form = new LessonForm({
      form: $("learn-gradient-form"),
      error: $("learn-gradient-error"),
      query: api.gradient,
      onAnswer: (answer, body) => {
        this.answer = answer;
        this.body = body;
        return this.render();
      },
    });
  }

  load() {
    return this.answer ? this.render() : this.form.submit();
  }

  async render() {
    const a = this.answer;
    if (!a) return;
    const lr = this.body.lr;
    $("learn-gradient-loss").textContent = decimal(a.loss);
    $("learn-gradient-value").textContent = decimal(a.gradient);
    $("learn-gradient-next").textContent = decimal(a.next_x);
    $("learn-gradient-next-loss").textContent = decimal(a.next_loss);
    const sign = a.gradient < 0 ? "negative" : a.gradient > 0 ? "positive" : "zero";
    const words = { g: fmt(a.gradient), x: fmt(a.x), next: fmt(a.next_x), step: fmt(a.step), t: fmt(a.target), j: fmt(a.loss), nj: fmt(a.next_loss) };
    $("learn-gradient-sign-text").textContent = t(SIGN[sign], words);
    $("learn-gradient-outcome").textContent = OUTCOME[a.outcome] ? t(OUTCOME[a.outcome], words) : "";
    $("learn-gradient-sign").dataset.sign = sign;
    $("learn-gradient-sign").dataset.outcome = a.outcome;
    // J′(x) = 2(x − t) = 2·(2 − 4) = −4, and x′ = x − η·J′(x) = 2 − 0.1 × (−4) = 2.4
    const j = () => row(sup(mi("J"), mo("′")), mo("("), mi("x"), mo(")"));
    $("learn-gradient-step").replaceChildren(
      block(j(), mo("="), mnLead(2), row(mo("("), mi("x"), mo("−"), mi("t"), mo(")")), mo("="), mnLead(2), mo("·"), row(mo("("), mnLead(a.x), mo("−"), mn(a.target), mo(")")), mo("="), mnLead(a.gradient)),
      block(sup(mi("x"), mo("′")), mo("="), mi("x"), mo("−"), mi("η"), mo("·"), j(), mo("="), mnLead(a.x), mo("−"), mn(lr), mo("×"), mn(a.gradient), mo("="), mnLead(a.next_x)),
    );
    this.code.fill({ x: pyLiteral(this.body.x), target: pyLiteral(this.body.target), lr: pyLiteral(lr) });
    this.code.prints([
      `J(x) = ${pyRepr(a.loss)}`,
      `dJ/dx = ${pyRepr(a.gradient)}`,
      `x after one step = ${pyRepr(a.next_x)}`,
      `J after one step = ${pyRepr(a.next_loss)}`,
    ]);
    return this.draw();
  }

  draw() {
    const a = this.answer;
    const xs = a.curve.map((p) => p[0]);
    const js = a.curve.map((p) => p[1]);
    const [slope, intercept] = a.tangent;
    const half = (xs[xs.length - 1] - xs[0]) / 6; // the tangent drawn over a third of the curve's span
    const ends = [a.x - half, a.x + half];
    const data = [
      { x: xs, y: js, mode: "lines", name: t("learn.gradient.legend_curve"), line: { color: COLORS.curve, width: 2 } },
      {
        x: ends,
        y: ends.map((x) => slope * x + intercept),
        mode: "lines",
        name: t("learn.gradient.legend_tangent", { g: fmt(a.gradient) }),
        line: { color: COLORS.tangent, width: 2, dash: "dash" },
      },
      { x: [a.x], y: [a.loss], mode: "markers", name: t("learn.gradient.legend_x", { x: fmt(a.x) }), marker: { color: COLORS.point, size: 10 } },
      {
        x: [a.next_x],
        y: [a.next_loss],
        mode: "markers",
        name: t("learn.gradient.legend_next", { x: fmt(a.next_x) }),
        marker: { color: COLORS.next, size: 10, symbol: "diamond" },
      },
    ];
    const top = Math.max(...js);
    return plot(
      this.chart,
      data,
      layout("x", "J(x)", {
        showlegend: true,
        legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 11 } },
        margin: { l: 44, r: 10, t: 30, b: 34 },
        yaxis: { ...layout("", "J(x)").yaxis, range: [-0.06 * top, 1.05 * top] },
        annotations: [
          {
            x: a.next_x,
            y: a.next_loss,
            ax: a.x,
            ay: a.loss,
            xref: "x",
            yref: "y",
            axref: "x",
            ayref: "y",
            showarrow: true,
            arrowhead: 3,
            arrowsize: 1.2,
            arrowcolor: COLORS.next,
            text: "",
          },
        ],
      }),
    );
  }
}
