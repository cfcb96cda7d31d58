// The CNN tab's state: one object shared by the modules that wire the tab, its views by name (filled by
// page.js), and what derives from them (its part of the URL, the settings as the server takes them). No DOM.
import { changedHyperparameters, cleanHyperparameters, defaultsOf } from "../hyperparameters.js";
import { writeUrl } from "../state.js";
import { cnnLr, DEFAULT_TRAINER, normalBatch, normalEvery, normalModel, normalSamples, normalSchedule, normalSeed } from "./config.js";
import { CnnStore } from "./store.js";

export const cnn = {
  optimizers: new Map(), // GET /api/optimizers by id
  model: normalModel({}), // ModelConfig without its seed
  // optimizer, hyperparameters (all), batch_size, schedule, sharpness_every, noise_scale_every, sharpness_samples
  trainer: structuredClone(DEFAULT_TRAINER),
  seed: 0, // the model's and the trainer's seed (cnn_reset takes one)
  speed: 50,
  playing: false,
  server: null, // the last cnn_state
  queue: null, // place in line for a training slot
  connection: "idle",
  socket: null, // the training's Socket, from the first time the tab shows
  limits: { max_speed: 100_000 },
  store: new CnnStore(),
  hpQueue: {}, // hyperparameters changed but not sent yet
};

export const views = {};

/** The settings a URL (readUrl()) describes, made valid against the optimizers the server has. */
export function settingsFromUrl(url) {
  const opt = url["cnn.opt"];
  const spec = cnn.optimizers.get(opt?.optimizer) ?? cnn.optimizers.get(DEFAULT_TRAINER.optimizer);
  cnn.model = normalModel({
    kind: url["cnn.net"],
    blocks: url["cnn.blocks"],
    depth: url["cnn.depth"],
    width: url["cnn.width"],
    activation: url["cnn.act"],
    batch_norm: url["cnn.bn"],
    dropout: url["cnn.dropout"],
    init: url["cnn.init"],
  });
  const given = opt && opt.optimizer === spec.id ? cleanHyperparameters(spec, opt.hyperparameters) : {};
  cnn.trainer = {
    optimizer: spec.id,
    hyperparameters: { ...defaultsOf(spec), lr: cnnLr(spec), ...given },
    batch_size: normalBatch(url["cnn.batch"]),
    schedule: normalSchedule(url["cnn.sched"]),
    sharpness_every: normalEvery(url["cnn.sharp"]),
    noise_scale_every: normalEvery(url["cnn.noise"]),
    sharpness_samples: normalSamples(url["cnn.samples"]),
  };
  cnn.seed = normalSeed(url["cnn.seed"]);
  cnn.speed = url["cnn.speed"] > 0 ? url["cnn.speed"] : 50;
  cnn.playing = Boolean(url["cnn.play"]);
}

export function urlState() {
  const m = cnn.model;
  const spec = cnn.optimizers.get(cnn.trainer.optimizer);
  const hp = cnn.trainer.hyperparameters;
  return {
    "cnn.net": m.kind,
    "cnn.blocks": m.blocks,
    "cnn.depth": m.depth,
    "cnn.width": m.width,
    "cnn.act": m.activation,
    "cnn.bn": m.batch_norm,
    "cnn.dropout": m.dropout,
    "cnn.init": m.init,
    // lr always (the CNN's default differs from torch's); the others when not torch's default
    "cnn.opt": { optimizer: cnn.trainer.optimizer, start: null, hyperparameters: { lr: hp.lr, ...(spec ? changedHyperparameters(spec, hp) : {}) } },
    "cnn.batch": cnn.trainer.batch_size,
    "cnn.sched": cnn.trainer.schedule,
    "cnn.sharp": cnn.trainer.sharpness_every,
    "cnn.noise": cnn.trainer.noise_scale_every,
    "cnn.samples": cnn.trainer.sharpness_samples,
    "cnn.speed": cnn.speed,
    "cnn.seed": cnn.seed,
    "cnn.play": cnn.playing,
  };
}

export function syncUrl() {
  writeUrl(urlState(), "cnn");
}

/** ModelConfig as the server takes it. */
export function modelMessage() {
  return { ...cnn.model, seed: cnn.seed };
}

/** TrainerConfig as the server takes it. */
export function trainerMessage() {
  const tr = cnn.trainer;
  return {
    optimizer: tr.optimizer,
    hyperparameters: tr.hyperparameters,
    batch_size: tr.batch_size,
    schedule: tr.schedule,
    seed: cnn.seed,
    sharpness_every: tr.sharpness_every,
    noise_scale_every: tr.noise_scale_every,
    sharpness_samples: tr.sharpness_samples,
  };
}
