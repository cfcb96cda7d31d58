// What a person does on the CNN tab, as commands to the training's socket. Every setting applies live: the
// training goes on.
import { throttle } from "../dom.js";
import { defaultsOf } from "../hyperparameters.js";
import { cnnLr, normalModel, PRESETS, presetTrainer } from "./config.js";
import { CNN_CLIENT, send, sendStart } from "./messages.js";
import { renderSettings, renderTransport } from "./render.js";
import { cnn, modelMessage, syncUrl } from "./state.js";

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
  cnn.trainer = presetTrainer(preset, { ...cnn.trainer, optimizer: spec.id, hyperparameters: { ...defaultsOf(spec), lr: preset.lr } });
  cnn.hpQueue = {};
  sendStart();
  renderSettings();
  syncUrl();
}

export function setOptimizer(id) {
  const spec = cnn.optimizers.get(id);
  if (!spec) return;
  cnn.trainer = { ...cnn.trainer, optimizer: id, hyperparameters: { ...defaultsOf(spec), lr: cnnLr(spec) } };
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

/** Measure the sharpness or the noise scale every so many steps (0: off), on so many digits. */
export function setMeasurements(partial) {
  cnn.trainer = { ...cnn.trainer, ...partial };
  send(CNN_CLIENT.UPDATE, partial);
  renderSettings();
  syncUrl();
}

export function setSchedule(schedule) {
  cnn.trainer = { ...cnn.trainer, schedule };
  send(CNN_CLIENT.UPDATE, { schedule });
  renderSettings();
  syncUrl();
}
