// What a person does on the CNN tab, as commands to the training's socket, and what the server says back,
// into the tab's state, its store and its views. Every setting applies live: the training goes on.
import { throttle } from "../dom.js";
import { t, tOr } from "../i18n.js";
import { defaultsOf } from "../model.js";
import { toast } from "../render.js";
import { cnn, modelMessage, syncUrl, trainerMessage, views } from "./app.js";
import { cnnLr, normalModel, PRESETS, presetOf } from "./config.js";
import { CNN_CLIENT, FRESH_CAUSES } from "./session.js";

const STATUS_LABELS = {
  idle: "cnn.connection.idle",
  connecting: "connection.connecting",
  live: "connection.live",
  reconnecting: "connection.reconnecting",
};

const send = (type, fields) => views.session.send(type, fields);

// --- commands -------------------------------------------------------------------------------------------

/** Begin (or replace) the training with every setting the page has. */
export function sendStart() {
  cnn.store.clear();
  send(CNN_CLIENT.START, { model: modelMessage(), trainer: trainerMessage(), playing: cnn.playing, speed: cnn.speed });
}

export function togglePlay() {
  cnn.playing = !cnn.playing;
  send(cnn.playing ? CNN_CLIENT.PLAY : CNN_CLIENT.PAUSE);
  if (!cnn.playing) send(CNN_CLIENT.SNAPSHOT); // the panels then show exactly where it stopped
  renderTransport();
  syncUrl();
}

export function stepOnce() {
  if (cnn.playing) togglePlay();
  send(CNN_CLIENT.STEP, { count: 1 });
  send(CNN_CLIENT.SNAPSHOT);
}

export function reset(seed = cnn.seed) {
  cnn.seed = seed;
  send(CNN_CLIENT.RESET, { seed });
  syncUrl();
}

const sendSpeed = throttle((speed) => send(CNN_CLIENT.SET_SPEED, { speed }), 100);

export function setSpeed(speed) {
  cnn.speed = Math.min(Math.max(speed, 0.1), cnn.limits.max_speed);
  sendSpeed(cnn.speed);
  syncUrl();
}

/** A new network (fresh weights); the training settings stay. */
export function changeModel(partial) {
  cnn.model = normalModel({ ...cnn.model, ...partial });
  send(CNN_CLIENT.MODEL, { model: modelMessage() });
  renderSettings();
  syncUrl();
}

export function applyPreset(id) {
  const preset = PRESETS.find((p) => p.id === id);
  const spec = preset && cnn.optimizers.get(preset.optimizer);
  if (!spec) return;
  cnn.model = normalModel(preset.model);
  cnn.trainer = { ...cnn.trainer, optimizer: spec.id, hyperparameters: { ...defaultsOf(spec), lr: preset.lr } };
  cnn.hpQueue = {};
  sendStart();
  renderSettings();
  syncUrl();
}

export function setOptimizer(id) {
  const spec = cnn.optimizers.get(id);
  if (!spec) return;
  cnn.trainer = { ...cnn.trainer, optimizer: id, hyperparameters: { ...defaultsOf(spec), lr: cnnLr(id, spec) } };
  cnn.hpQueue = {};
  send(CNN_CLIENT.UPDATE, { optimizer: id, hyperparameters: cnn.trainer.hyperparameters });
  renderSettings();
  syncUrl();
}

const flushHyperparameters = throttle(() => {
  const partial = cnn.hpQueue;
  cnn.hpQueue = {};
  if (Object.keys(partial).length) send(CNN_CLIENT.UPDATE, { hyperparameters: partial });
}, 80);

export function setHyperparameters(partial) {
  cnn.trainer.hyperparameters = { ...cnn.trainer.hyperparameters, ...partial };
  cnn.hpQueue = { ...cnn.hpQueue, ...partial };
  flushHyperparameters();
  renderSettings();
  syncUrl();
}

export function setBatch(n) {
  cnn.trainer = { ...cnn.trainer, batch_size: n };
  send(CNN_CLIENT.UPDATE, { batch_size: n });
  syncUrl();
}

export function setSchedule(schedule) {
  cnn.trainer = { ...cnn.trainer, schedule };
  send(CNN_CLIENT.UPDATE, { schedule });
  renderSettings();
  syncUrl();
}

// --- the server's messages ------------------------------------------------------------------------------

export function onHello(hello) {
  cnn.limits = hello.limits;
  views.landscape.onHello(hello);
  // A resumed session replays what this page missed and goes on; a fresh one needs the training.
  if (!hello.resumed) sendStart();
}

export function onState(state) {
  const previous = cnn.server;
  cnn.server = state;
  const fresh = FRESH_CAUSES.has(state.cause);
  if (fresh) cnn.store.clear();
  views.landscape.onState(state, fresh);
  const { seed, ...model } = state.model;
  cnn.model = normalModel(model);
  cnn.seed = seed;
  const tr = state.trainer;
  // Hyperparameters changed here but not sent yet stay as they are on the page.
  cnn.trainer = {
    optimizer: tr.optimizer,
    hyperparameters: { ...tr.hyperparameters, ...cnn.hpQueue },
    batch_size: tr.batch_size,
    schedule: tr.schedule,
  };
  cnn.playing = state.playing;
  cnn.speed = state.speed;
  cnn.queue = state.queue_position;
  if (state.diverged && !cnn.store.diverged) cnn.store.diverged = { step: state.step, lr: state.lr };
  if (!previous || JSON.stringify(previous.layers) !== JSON.stringify(state.layers)) views.diagram.render(state.layers);
  renderSettings();
  renderTransport();
  syncUrl();
}

export function onFrame(frame) {
  cnn.store.addSteps(frame.steps);
}

export function onSnapshot(report) {
  cnn.store.addSnapshot(report);
}

export function onNotice(notice) {
  toast(tOr(`notice.${notice.code}`, notice.message), "info");
}

export function onError(error, ref) {
  if (views.landscape.onError(error, ref)) return; // shown in the landscape panel
  toast(error.message, "error");
  // The server refused a setting: show what it trains with.
  if (cnn.server) onState({ ...cnn.server, cause: "error" });
}

export function onLandscape(message) {
  views.landscape.onMessage(message);
}

export function onStatus(status) {
  cnn.connection = status;
  if (status === "reconnecting") views.landscape.interrupted();
  const pill = document.getElementById("cnn-connection");
  pill.dataset.connection = status;
  document.getElementById("cnn-connection-text").textContent = t(STATUS_LABELS[status] ?? STATUS_LABELS.idle);
}

// --- drawing what changed -------------------------------------------------------------------------------

export function renderSettings() {
  const parameters = cnn.server && JSON.stringify(normalModel(cnn.server.model)) === JSON.stringify(cnn.model) ? cnn.server.parameter_count : null;
  views.modelForm.refresh(cnn.model, presetOf(cnn.model, cnn.trainer), parameters);
  views.trainerForm.refresh(cnn.trainer);
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
