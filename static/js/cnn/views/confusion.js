// The confusion matrix on the validation split: row = the true digit, column = the network's answer,
// the count in each cell, coloured by the share of that true digit (so the errors show beside the
// diagonal). One Plotly.react per new snapshot.
import { t } from "../../i18n.js";
import { axis, baseLayout, PLOTLY_CONFIG } from "../../plotly.js";

const MARGIN = { l: 40, r: 6, t: 4, b: 34 };
// Empty cells vanish into the panel; a few errors already show; the diagonal stays dark enough for text.
const COLORSCALE = [
  [0, "#111b25"],
  [0.001, "#1d3041"],
  [0.15, "#7a3b52"],
  [0.5, "#2a6d9e"],
  [1, "#2f8fcf"],
];
const DIGITS = Array.from({ length: 10 }, (_, i) => i);

export class Confusion {
  constructor(div, summary) {
    this.div = div;
    this.summary = summary;
    this.step = null;
    this.matrix = null;
  }

  update(report, force = false) {
    if (!report || (!force && report.step === this.step && report.confusion === this.matrix)) return null;
    this.step = report.step;
    this.matrix = report.confusion;
    const counts = report.confusion; // [true][predicted]
    const totals = counts.map((row) => row.reduce((a, b) => a + b, 0));
    const share = counts.map((row, i) => row.map((c) => (totals[i] ? c / totals[i] : 0)));
    const right = counts.reduce((sum, row, i) => sum + row[i], 0);
    const all = totals.reduce((a, b) => a + b, 0);
    this.summary.textContent = all ? t("cnn.confusion.summary", { right, n: all }) : "";
    const data = [
      {
        type: "heatmap",
        x: DIGITS,
        y: DIGITS,
        z: share,
        customdata: counts,
        zmin: 0,
        zmax: 1,
        colorscale: COLORSCALE,
        showscale: false,
        xgap: 1,
        ygap: 1,
        text: counts.map((row) => row.map((c) => (c ? String(c) : ""))),
        texttemplate: "%{text}",
        textfont: { size: 10, color: "#e8f4ff" },
        hovertemplate: t("cnn.confusion.hover", { label: "%{y}", predicted: "%{x}", count: "%{customdata}", share: "%{z:.1%}" }) + "<extra></extra>",
      },
    ];
    const layout = {
      ...baseLayout(MARGIN),
      hovermode: "closest",
      hoverlabel: { font: { size: 11 } },
      xaxis: axis(t("cnn.confusion.x"), { tickmode: "array", tickvals: DIGITS, side: "bottom", fixedrange: true, showgrid: false }),
      yaxis: axis(t("cnn.confusion.y"), { tickmode: "array", tickvals: DIGITS, autorange: "reversed", fixedrange: true, showgrid: false }),
    };
    return Plotly.react(this.div, data, layout, PLOTLY_CONFIG);
  }

  resize() {
    if (this.step !== null && this.div.offsetParent) Plotly.Plots.resize(this.div);
  }
}
