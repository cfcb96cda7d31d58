// The measurements taken every few steps, in words: the sharpness against the optimizer's stability
// threshold (under the loss chart, which plots both), and the gradient noise scale against the batch size
// (beside the batch size). Server text goes in as textContent.
import { fmt } from "../../dom.js";
import { t } from "../../i18n.js";

// A batch this many times B_simple or more (or as many times less) is "much" larger (smaller): McCandlish et
// al. 2018 put the efficient batch near B, with diminishing returns well above it and noise well below.
const MUCH = 4;

/** The sharpness's last measurement, its threshold and its cost, or what to expect before the first. */
export class SharpnessNote {
  constructor(node) {
    this.node = node;
  }

  update(store, trainer) {
    const m = store.lastSharpness;
    const every = trainer.sharpness_every;
    this.node.hidden = !m && !every;
    if (!m) {
      this.node.textContent = every ? t("cnn.sharp.waiting", { every }) : "";
      this.node.title = "";
      return;
    }
    const symbol = t(m.quantity === "preconditioned_sharpness" ? "cnn.sharp.preconditioned" : "cnn.sharp.lambda");
    const value = t("cnn.sharp.value", { symbol, value: fmt(m.lambda_max), step: m.step });
    const edge =
      m.threshold === null
        ? t("cnn.sharp.no_threshold", { optimizer: m.optimizer })
        : t(m.lambda_max !== null && m.lambda_max >= m.threshold ? "cnn.sharp.above" : "cnn.sharp.below", { threshold: fmt(m.threshold) });
    const cost = t(m.converged ? "cnn.sharp.cost" : "cnn.sharp.cost_capped", {
      n: m.iterations,
      samples: m.samples,
      ms: Math.round(m.seconds * 1000),
    });
    this.node.textContent = [value, edge, every ? "" : t("cnn.sharp.off")].filter(Boolean).join(" · ");
    // The formula (for an optimizer without a threshold, the server's reason, in English) and the cost.
    this.node.title = [m.formula, cost].join("\n");
  }
}

/** The noise scale B_simple, and what it says about the batch size the training uses now. */
export class NoiseNote {
  constructor(node) {
    this.node = node;
  }

  update(store, trainer) {
    const m = store.noiseScale;
    const every = trainer.noise_scale_every;
    this.node.hidden = !m && !every;
    if (!m) {
      this.node.textContent = every ? t("cnn.noise.waiting", { every }) : "";
      return;
    }
    if (m.unavailable) {
      this.node.textContent = t("cnn.noise.unavailable");
      this.node.title = m.unavailable;
      return;
    }
    this.node.title = t("cnn.noise.title");
    if (m.b_simple === null) {
      this.node.textContent = t("cnn.noise.lost", { step: m.step });
      return;
    }
    const batch = store.last?.batch_size ?? m.batch_size; // the newest step's: a changed batch size counts at once
    const ratio = batch / m.b_simple;
    const verdict = ratio < 1 / MUCH ? "cnn.noise.small" : ratio > MUCH ? "cnn.noise.large" : "cnn.noise.near";
    const head = t("cnn.noise.value", { b: fmt(m.b_simple, 3), step: m.step, samples: m.samples });
    this.node.textContent = [head, t(verdict, { batch, ratio: fmt(ratio, 2) })].join(" ");
  }
}
