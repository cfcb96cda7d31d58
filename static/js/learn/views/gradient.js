// Lesson 1, what a gradient is: J(x) = (x − t)² with its tangent at x, the gradient's sign and the step
// it makes. Every number is the server's (POST /api/lessons/gradient, torch autograd).
import { fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import * as api from "../api.js";
import { LessonForm } from "./form.js";
import { block, mi, mn, mnLead, mo, row, sup } from "./math.js";
import { COLORS, layout, plot } from "./plots.js";

const $ = (id) => document.getElementById(id);

/** A value card's number: as fmt, but a whole number keeps one decimal (−4.0), as a worked example writes it. */
function decimal(v) {
  return Number.isInteger(v) && Math.abs(v) < 1e5 ? `${fmt(v)}.0` : fmt(v);
}

export class GradientLesson {
  constructor() {
    this.answer = null;
    this.body = null;
    this.chart = $("learn-gradient-chart");
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
    const text = {
      negative: () => t("learn.gradient.sign_negative", { g: fmt(a.gradient), x: fmt(a.x), next: fmt(a.next_x) }),
      positive: () => t("learn.gradient.sign_positive", { g: fmt(a.gradient), x: fmt(a.x), next: fmt(a.next_x) }),
      zero: () => t("learn.gradient.sign_zero", { x: fmt(a.x) }),
    }[sign];
    $("learn-gradient-sign").textContent = text();
    $("learn-gradient-sign").dataset.sign = sign;
    // x′ = x − η·J′(x) = 2 − 0.1 × (−4) = 2.4
    const j = row(sup(mi("J"), mo("′")), mo("("), mi("x"), mo(")"));
    $("learn-gradient-step").replaceChildren(
      block(sup(mi("x"), mo("′")), mo("="), mi("x"), mo("−"), mi("η"), mo("·"), j, mo("="), mnLead(a.x), mo("−"), mn(lr), mo("×"), mn(a.gradient), mo("="), mnLead(a.next_x)),
    );
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
