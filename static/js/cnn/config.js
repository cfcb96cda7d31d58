// What a CNN training can be set to, as the server's ModelConfig and TrainerConfig take it (app/cnn/models.py,
// app/cnn/trainer.py, app/cnn/schedules.py): the choices, their defaults, the presets, and how settings
// read from a URL are made valid. Pure data and rules; no DOM.

export const KINDS = ["cnn", "mlp"];
export const CHANNELS = [4, 8, 16, 24, 32]; // the server takes 1..32
export const KERNELS = [1, 3, 5];
export const POOLS = ["none", "max", "avg"];
export const WIDTHS = [8, 16, 32, 64, 128, 256];
export const ACTIVATIONS = ["relu", "leaky_relu", "tanh", "sigmoid", "gelu"];
export const INITS = ["default", "xavier", "kaiming", "too_small", "too_large"];
export const BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, "full"]; // "full": the whole training split
// Steps between measurements (0: off), and the digits of the evaluation subset they are taken on (the server
// takes 0..1e6 and 2..2048, and measures on at most the training split).
export const SHARPNESS_EVERY = [0, 1, 2, 5, 10, 20, 50, 100];
export const NOISE_EVERY = [0, 10, 20, 50, 100, 200, 500];
export const SAMPLES = [64, 128, 256, 512, 1024, 2048];
export const MAX_BLOCKS = 3;
export const MAX_DEPTH = 8;
export const MAX_DROPOUT = 0.8;
export const MAX_SEED = 2 ** 32 - 1;

export const DEFAULT_BLOCK = Object.freeze({ channels: 16, kernel: 3, pool: "max" });

export const DEFAULT_MODEL = Object.freeze({
  kind: "cnn",
  blocks: [
    { channels: 16, kernel: 3, pool: "max" },
    { channels: 32, kernel: 3, pool: "max" },
  ],
  depth: 1,
  width: 64,
  activation: "relu",
  batch_norm: false,
  dropout: 0,
  init: "default",
});

/** Each schedule's parameters: name, range, default, whether whole; the factor it applies, as a formula. */
export const SCHEDULES = Object.freeze({
  constant: [],
  step: [
    { name: "gamma", min: 0.01, max: 1, step: 0.01, fallback: 0.5 },
    { name: "every", min: 1, max: 1_000_000, step: 1, fallback: 200, whole: true },
  ],
  cosine: [
    { name: "total_steps", min: 1, max: 1_000_000, step: 1, fallback: 1000, whole: true },
    { name: "min_factor", min: 0, max: 1, step: 0.01, fallback: 0 },
  ],
  warmup: [{ name: "warmup_steps", min: 1, max: 1_000_000, step: 1, fallback: 100, whole: true }],
});

/** The factor on the base learning rate after t updates (app/cnn/schedules.py, for the small preview). */
export function scheduleFactor(schedule, t) {
  switch (schedule.kind) {
    case "step":
      return schedule.gamma ** Math.floor(t / schedule.every);
    case "cosine": {
      const progress = Math.min(t, schedule.total_steps) / schedule.total_steps;
      return schedule.min_factor + (1 - schedule.min_factor) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
    case "warmup":
      return Math.min(1, (t + 1) / schedule.warmup_steps);
    default:
      return 1;
  }
}

/** The learning rate an optimizer starts with here: its cnn_lr (GET /api/optimizers), one that trains these
 * digits in a few hundred steps (torch's defaults are for other sizes). */
export const cnnLr = (spec) => spec.cnn_lr;

export const DEFAULT_TRAINER = Object.freeze({
  optimizer: "adam",
  hyperparameters: { lr: 0.001 },
  batch_size: 64,
  schedule: { kind: "constant" },
  sharpness_every: 0,
  noise_scale_every: 0,
  sharpness_samples: 512,
});

const model = (changes) => ({ ...structuredClone(DEFAULT_MODEL), ...changes });
const mlp = (changes) => model({ kind: "mlp", depth: 8, width: 64, ...changes });

/** Networks that each show one thing about gradients; the first is the page's default. `trainer`: the
 * training settings a preset sets besides its optimizer and lr (the others stay as they are). */
export const PRESETS = Object.freeze([
  { id: "default_cnn", model: model({}), optimizer: "adam", lr: 0.001 },
  { id: "deep_sigmoid", model: mlp({ activation: "sigmoid" }), optimizer: "sgd", lr: 0.1 },
  { id: "sigmoid_bn", model: mlp({ activation: "sigmoid", batch_norm: true }), optimizer: "sgd", lr: 0.1 },
  { id: "relu_kaiming", model: mlp({ activation: "relu", init: "kaiming" }), optimizer: "sgd", lr: 0.05 },
  { id: "too_large", model: mlp({ depth: 4, activation: "relu", init: "too_large" }), optimizer: "sgd", lr: 0.01 },
  { id: "too_small", model: model({ init: "too_small" }), optimizer: "sgd", lr: 0.05 },
  // Cohen et al. 2021: full-batch GD drives λ_max up to 2/η = 20 and holds it there.
  {
    id: "edge_of_stability",
    model: model({}),
    optimizer: "sgd",
    lr: 0.1,
    trainer: { batch_size: "full", sharpness_every: 10, noise_scale_every: 50, sharpness_samples: 512 },
  },
]);

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** The preset this network and training are, or null. */
export function presetOf(m, trainer) {
  const preset = PRESETS.find(
    (p) =>
      same(normalModel(p.model), normalModel(m)) &&
      p.optimizer === trainer.optimizer &&
      p.lr === trainer.hyperparameters.lr &&
      Object.entries(p.trainer ?? {}).every(([name, value]) => trainer[name] === value),
  );
  return preset ? preset.id : null;
}

/** The training settings a preset makes of these: its own, and a full batch back to the default for a preset
 * that does not ask for one (full-batch Adam is nobody's recipe). */
export function presetTrainer(preset, trainer) {
  const batch = trainer.batch_size === "full" ? DEFAULT_TRAINER.batch_size : trainer.batch_size;
  return { ...trainer, batch_size: batch, ...(preset.trainer ?? {}) };
}

const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
const nearest = (list, v) => list.reduce((best, x) => (Math.abs(x - v) < Math.abs(best - v) ? x : best), list[0]);

/** A model with every field valid (from a URL or a preset), keys in the server's order. */
export function normalModel(raw) {
  const m = { ...structuredClone(DEFAULT_MODEL), ...raw };
  const blocks = (Array.isArray(m.blocks) && m.blocks.length ? m.blocks : DEFAULT_MODEL.blocks).slice(0, MAX_BLOCKS);
  return {
    kind: KINDS.includes(m.kind) ? m.kind : "cnn",
    blocks: blocks.map((b) => ({
      channels: clamp(Math.round(Number(b.channels) || DEFAULT_BLOCK.channels), 1, 32),
      kernel: KERNELS.includes(b.kernel) ? b.kernel : nearest(KERNELS, Number(b.kernel) || 3),
      pool: POOLS.includes(b.pool) ? b.pool : "max",
    })),
    depth: clamp(Math.round(Number(m.depth) || 1), 1, MAX_DEPTH),
    width: clamp(Math.round(Number(m.width) || 64), 8, 256),
    activation: ACTIVATIONS.includes(m.activation) ? m.activation : "relu",
    batch_norm: Boolean(m.batch_norm),
    dropout: clamp(Number(m.dropout) || 0, 0, MAX_DROPOUT),
    init: INITS.includes(m.init) ? m.init : "default",
  };
}

/** A schedule with its kind known and every parameter in range (missing ones at their defaults). */
export function normalSchedule(raw) {
  const kind = raw && raw.kind in SCHEDULES ? raw.kind : "constant";
  const out = { kind };
  for (const p of SCHEDULES[kind]) {
    let v = Number(raw?.[p.name]);
    if (!Number.isFinite(v)) v = p.fallback;
    v = clamp(v, p.min, p.max);
    out[p.name] = p.whole ? Math.round(v) : v;
  }
  return out;
}

export const normalBatch = (n) => (n === "full" ? "full" : clamp(Math.round(Number(n) || DEFAULT_TRAINER.batch_size), 1, 512));
export const normalEvery = (n) => clamp(Math.round(Number(n) || 0), 0, 1_000_000);
export const normalSamples = (n) => clamp(Math.round(Number(n) || DEFAULT_TRAINER.sharpness_samples), 2, 2048);
export const normalSeed = (n) => clamp(Math.round(Number(n) || 0), 0, MAX_SEED);
