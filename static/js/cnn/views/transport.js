// The CNN tab's transport (play / pause, step, reset with a seed, speed), the line of numbers beside it
// (step, epoch, learning rate, loss, accuracy), and the banner that explains a queue or a divergence.
import { announce } from "../../announce.js";
import { el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import { normalSeed } from "../config.js";

const SPEED_MIN_LOG = 0; // 1 step/s
const SPEED_MAX_LOG = 3; // 1000 steps/s: beyond that a CNN trains as fast as the server can anyway

export class CnnTransport {
  /** @param {object} handlers onPlay(), onStep(), onReset(seed), onSpeed(speed) */
  constructor(handlers) {
    const $ = (id) => document.getElementById(id);
    this.play = $("cnn-play");
    this.playLabel = $("cnn-play-label");
    this.seed = $("cnn-seed");
    this.speed = $("cnn-speed");
    this.speedValue = $("cnn-speed-value");
    this.readout = $("cnn-readout");
    this.banner = $("cnn-banner");
    this.play.addEventListener("click", () => handlers.onPlay());
    $("cnn-step").addEventListener("click", () => handlers.onStep());
    $("cnn-reset").addEventListener("click", () => handlers.onReset(normalSeed(this.seed.value)));
    this.seed.addEventListener("change", () => {
      this.seed.value = String(normalSeed(this.seed.value));
      handlers.onReset(Number(this.seed.value));
    });
    this.speed.min = String(SPEED_MIN_LOG);
    this.speed.max = String(SPEED_MAX_LOG);
    this.speed.addEventListener("input", () => {
      const speed = Number((10 ** Number(this.speed.value)).toPrecision(2));
      this.speedValue.textContent = t("cnn.transport.speed_value", { speed });
      handlers.onSpeed(speed);
    });
  }

  render({ playing, speed, seed }) {
    this.play.dataset.playing = String(playing);
    this.play.setAttribute("aria-pressed", String(playing));
    this.playLabel.textContent = t(playing ? "cnn.transport.pause" : "cnn.transport.play");
    this.play.title = t(playing ? "cnn.transport.pause_title" : "cnn.transport.play_title");
    if (document.activeElement !== this.speed) this.speed.value = String(Math.log10(speed));
    this.speedValue.textContent = t("cnn.transport.speed_value", { speed });
    if (document.activeElement !== this.seed) this.seed.value = String(seed);
  }

  /** The numbers of the newest step (or of the state before any). */
  numbers({ step, epoch, lr, loss, accuracy, validation }) {
    const item = (name, title, value) =>
      el("span", { className: "cnn-readout-item", title: t(title) }, [
        el("span", { className: "readout-name", text: t(name) }),
        el("span", { className: "readout-value", text: value }),
      ]);
    this.readout.replaceChildren(
      item("cnn.readout.step", "cnn.readout.step_title", String(step)),
      item("cnn.readout.epoch", "cnn.readout.epoch_title", fmt(epoch, 3)),
      item("cnn.readout.lr", "cnn.readout.lr_title", fmt(lr, 3)),
      item("cnn.readout.loss", "cnn.readout.loss_title", fmt(loss, 3)),
      item("cnn.readout.accuracy", "cnn.readout.accuracy_title", accuracy === null ? t("num.none") : `${fmt(100 * accuracy, 3)}%`),
      item("cnn.readout.validation", "cnn.readout.validation_title", validation === null ? t("num.none") : `${fmt(100 * validation, 3)}%`),
    );
  }

  /** The queue or the divergence, in plain words; hidden when neither. */
  explain({ queue, diverged }) {
    let text = "";
    let kind = "";
    if (diverged) {
      text = t("cnn.banner.diverged", { step: diverged.step, lr: fmt(diverged.lr, 3) });
      kind = "diverged";
    } else if (queue) {
      text = t("cnn.banner.queue", { n: queue });
      kind = "queue";
    }
    this.banner.hidden = !text;
    this.banner.dataset.kind = kind;
    if (this.banner.textContent !== text) {
      this.banner.textContent = text;
      announce(text); // a queue that moves or a divergence, heard through the page's one live region
    }
  }
}
