// The left column's first two cards: the surface picker (built-ins and a custom f(x, y) whose error is
// shown inline, under the column it names) and the transport (play / pause, step, reset, speed).
import { el } from "../../dom.js";
import { t, tOr } from "../../i18n.js";
import { CUSTOM } from "../model.js";

export class SurfaceControls {
  /** @param {{onSurface: (id: string) => void, onCustom: (expression: string, xRange: number[], yRange: number[]) => void}} handlers */
  constructor(handlers) {
    this.handlers = handlers;
    this.select = document.getElementById("surface-select");
    this.formula = document.getElementById("surface-formula");
    this.description = document.getElementById("surface-description");
    this.details = document.getElementById("custom-surface");
    this.expression = document.getElementById("custom-expression");
    this.error = document.getElementById("custom-error");
    this.errorSource = document.getElementById("custom-error-source");
    this.errorMessage = document.getElementById("custom-error-message");
    this.ranges = ["custom-x0", "custom-x1", "custom-y0", "custom-y1"].map((id) => document.getElementById(id));
    this.select.addEventListener("change", () => {
      if (this.select.value === CUSTOM) {
        this.details.open = true;
        this.expression.focus();
      } else handlers.onSurface(this.select.value);
    });
    document.getElementById("custom-apply").addEventListener("click", () => this.apply());
    this.expression.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.apply();
      }
    });
    this.expression.addEventListener("input", () => this.clearError());
  }

  apply() {
    const [x0, x1, y0, y1] = this.ranges.map((input) => Number(input.value));
    if (![x0, x1, y0, y1].every(Number.isFinite) || !(x0 < x1) || !(y0 < y1)) {
      this.showError("", t("custom.range_error"), null);
      return;
    }
    const text = this.expression.value.trim();
    if (!text) {
      this.showError("", t("custom.empty"), null);
      return;
    }
    this.handlers.onCustom(text, [x0, x1], [y0, y1]);
  }

  render(surfaces, surface) {
    // Two groups: test functions (and your own f), and data problems (a loss over a real data set).
    const option = (s) => el("option", { text: tOr(`surface.${s.id}.name`, s.name), attrs: { value: s.id } });
    const functions = [...surfaces.values()].filter((s) => s.kind !== "data").map(option);
    functions.push(el("option", { text: t("surface.custom"), attrs: { value: CUSTOM } }));
    const data = [...surfaces.values()].filter((s) => s.kind === "data").map(option);
    this.select.replaceChildren(
      el("optgroup", { attrs: { label: t("surface.group_functions") } }, functions),
      data.length ? el("optgroup", { attrs: { label: t("surface.group_data") } }, data) : null,
    );
    this.select.value = surface.id;
    // A data problem's formula names its own parameters, J(w, b) = …
    this.formula.textContent = surface.kind === "data" ? surface.formula : t("surface.formula", { formula: surface.formula });
    this.description.textContent =
      surface.id === CUSTOM ? t("custom.description") : tOr(`surface.${surface.id}.description`, surface.description);
    if (surface.id === CUSTOM) {
      this.expression.value = surface.expression;
      [...surface.x_range, ...surface.y_range].forEach((v, i) => {
        this.ranges[i].value = String(v);
      });
    }
  }

  /** The server's message, with the expression and a caret under the column it names (1-based). */
  showError(expression, message, column) {
    this.details.open = true;
    this.error.hidden = false;
    const caret = column ? `\n${" ".repeat(Math.max(0, column - 1))}^` : "";
    this.errorSource.textContent = expression ? `${expression}${caret}` : "";
    this.errorSource.hidden = !expression;
    this.errorMessage.textContent = column ? t("custom.error_at", { column, message }) : message;
  }

  clearError() {
    this.error.hidden = true;
  }
}

export class Transport {
  /** @param {{onPlay: () => void, onStep: () => void, onReset: () => void, onSpeed: (speed: number) => void}} handlers */
  constructor(handlers) {
    this.play = document.getElementById("play");
    this.playLabel = document.getElementById("play-label");
    this.speed = document.getElementById("speed");
    this.speedValue = document.getElementById("speed-value");
    this.play.addEventListener("click", handlers.onPlay);
    document.getElementById("step").addEventListener("click", handlers.onStep);
    document.getElementById("reset").addEventListener("click", handlers.onReset);
    this.speed.addEventListener("input", () => {
      const speed = Transport.fromSlider(Number(this.speed.value));
      this.speedValue.textContent = t("transport.speed_value", { speed });
      handlers.onSpeed(speed);
    });
  }

  // Steps per second on a log slider: 1/s (slow motion) to the server's max_speed (fast-forward).
  static fromSlider(p) {
    return Number((10 ** p).toPrecision(2));
  }

  render({ playing, speed, maxSpeed }) {
    this.play.dataset.playing = String(playing);
    this.play.setAttribute("aria-pressed", String(playing));
    this.playLabel.textContent = t(playing ? "transport.pause" : "transport.play");
    this.play.title = t(playing ? "transport.pause_title" : "transport.play_title");
    this.speed.max = String(Math.log10(maxSpeed));
    if (document.activeElement !== this.speed) this.speed.value = String(Math.log10(speed));
    this.speedValue.textContent = t("transport.speed_value", { speed });
  }
}
