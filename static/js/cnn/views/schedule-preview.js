// A small picture of the learning-rate schedule: η(t) / η over the steps to come, with the current step
// marked, so a schedule's shape is seen before it is felt. Inline SVG; the numbers are in its title.
import { fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import { scheduleFactor } from "../config.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 240;
const HEIGHT = 34;
const POINTS = 120;

/** How many steps the picture spans: enough to see the schedule's whole shape. */
export function span(schedule) {
  switch (schedule.kind) {
    case "step":
      return schedule.every * 4;
    case "cosine":
      return Math.ceil(schedule.total_steps * 1.15);
    case "warmup":
      return schedule.warmup_steps * 3;
    default:
      return 1000;
  }
}

export class SchedulePreview {
  constructor(svg) {
    this.svg = svg;
    svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    svg.setAttribute("preserveAspectRatio", "none");
    this.area = document.createElementNS(SVG, "path");
    this.area.setAttribute("class", "cnn-sched-area");
    this.line = document.createElementNS(SVG, "path");
    this.line.setAttribute("class", "cnn-sched-line");
    this.now = document.createElementNS(SVG, "line");
    this.now.setAttribute("class", "cnn-sched-now");
    this.title = document.createElementNS(SVG, "title");
    svg.append(this.title, this.area, this.line, this.now);
  }

  /** Draw this schedule over its span, the step `step` marked. */
  render(schedule, step, lr) {
    const steps = span(schedule);
    const x = (s) => (WIDTH * s) / steps;
    const y = (f) => HEIGHT - 2 - (HEIGHT - 4) * f;
    const points = [];
    for (let i = 0; i <= POINTS; i += 1) {
      const s = Math.round((steps * i) / POINTS);
      points.push(`${x(s).toFixed(1)},${y(scheduleFactor(schedule, s)).toFixed(1)}`);
    }
    this.line.setAttribute("d", `M${points.join("L")}`);
    this.area.setAttribute("d", `M0,${HEIGHT}L${points.join("L")}L${WIDTH},${HEIGHT}Z`);
    const at = Math.min(step, steps);
    this.now.setAttribute("x1", x(at));
    this.now.setAttribute("x2", x(at));
    this.now.setAttribute("y1", 0);
    this.now.setAttribute("y2", HEIGHT);
    this.title.textContent = t("cnn.schedule.preview", { steps, step, factor: fmt(scheduleFactor(schedule, step), 3), lr: fmt(lr * scheduleFactor(schedule, step), 3) });
  }
}
