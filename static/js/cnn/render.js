// Drawing what the tab's state says: the settings cards, the transport with its numbers and banner, the
// connection pill. The charts are page.js's, drawn at its tick.
import { announce } from "../announce.js";
import { $ } from "../dom.js";
import { t } from "../i18n.js";
import { normalModel, presetOf } from "./config.js";
import { cnn, views } from "./state.js";

const STATUS_LABELS = {
  idle: "cnn.connection.idle",
  connecting: "connection.connecting",
  live: "connection.live",
  reconnecting: "connection.reconnecting",
};

export function renderSettings() {
  const parameters = cnn.server && JSON.stringify(normalModel(cnn.server.model)) === JSON.stringify(cnn.model) ? cnn.server.parameter_count : null;
  views.modelForm.refresh(cnn.model, presetOf(cnn.model, cnn.trainer), parameters);
  views.trainerForm.refresh(cnn.trainer);
  views.sharpnessNote?.update(cnn.store, cnn.trainer); // "the first measurement at step …" as soon as it is on
  views.noiseNote?.update(cnn.store, cnn.trainer);
}

export function renderTransport() {
  views.transport.render({ playing: cnn.playing, speed: cnn.speed, seed: cnn.seed });
  renderNumbers();
}

/** The readout and the banner, from the newest step (or the state before any). */
export function renderNumbers() {
  const store = cnn.store;
  const last = store.last;
  const server = cnn.server;
  const evals = store.evals;
  views.transport.numbers({
    step: last?.step ?? server?.step ?? 0,
    epoch: last?.epoch ?? server?.epoch ?? 0,
    lr: last?.lr ?? server?.lr ?? cnn.trainer.hyperparameters.lr,
    loss: last ? last.loss : null,
    accuracy: last ? last.accuracy : null,
    validation: evals.step.length ? evals.accuracy.last : (store.snapshot?.eval.accuracy ?? null),
  });
  views.transport.explain({ queue: cnn.queue, diverged: store.diverged });
}

/** The socket's status (or idle before it opens), in the tab's pill. */
export function onStatus(status) {
  cnn.connection = status;
  if (status === "reconnecting") views.landscape.interrupted();
  $("cnn-connection").dataset.connection = status;
  $("cnn-connection-text").textContent = t(STATUS_LABELS[status] ?? STATUS_LABELS.idle);
  if (status === "reconnecting") announce(t(STATUS_LABELS[status]));
}
