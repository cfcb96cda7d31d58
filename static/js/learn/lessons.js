// The lessons, in order (the `lesson` URL key takes these ids), and each one's "try it" links: ordinary
// URLs of the page's one table of properties (state.js), opening the surfaces race or the CNN tab in the
// state the lesson talks about, with the language and the lesson kept.
import { visibleLr } from "../hyperparameters.js";
import { formatNumber, writeQuery } from "../state.js";

export const LESSONS = Object.freeze(["gradient", "descent", "chain", "backprop", "batches", "beyond", "stability"]);

const sgd = (lr, extra = {}) => ({ optimizer: "sgd", start: null, hyperparameters: { lr }, ...extra });

// The ill-conditioned bowl ½·(x² + 25·y²): plain descent is stable only for η < 2/25 = 0.08, set by the
// steep y direction; these three crawl, zig-zag in, and blow up.
const BOWL_LRS = [0.005, 0.07, 0.085];

// The three-hump camel, one global minimum at (0, 0) and two local ones: plain descent with the surface's
// η = 0.02 from (−1.8, 1.8) settles in the local minimum near (−1.75, 0.87), from (−0.8, 1.6) in the global one.
const MINIMA_STARTS = [
  [-1.8, 1.8],
  [-0.8, 1.6],
];
const MINIMA_LR = 0.02;

// What the race's "Batch vs SGD vs mini-batch" button starts: on linear regression, one SGD runner with the
// surface's learning rate per batch, full (no batch key), stochastic (batch=1) and a mini-batch of 16.
const COMPARISON_SURFACE = "linreg";
const COMPARISON_BATCHES = [null, 1, 16];

// The CNN tab's "Edge of stability" preset (static/js/cnn/config.js PRESETS): the default CNN, full-batch SGD
// at η = 0.1 (so 2/η = 20), the sharpness measured every 10 steps and the noise scale every 50. The CNN tab
// has no URL key for a preset: it names the preset these settings match, so the link sets them all. Paused:
// full-batch steps are heavy, the learner presses Train.
const EDGE_OF_STABILITY = Object.freeze({
  tab: "cnn",
  "cnn.opt": { optimizer: "sgd", start: null, hyperparameters: { lr: 0.1 } },
  "cnn.batch": "full",
  "cnn.sharp": 10,
  "cnn.noise": 50,
  "cnn.samples": 512,
});

/**
 * Every lesson's links as {id: [{key, href}]}. surfaces and optimizers: GET /api/surfaces and
 * /api/optimizers by id (the learning rates a race starts with); chain: the chain lesson's current request
 * {W, b, x, target} (for its loss surface over (W, b)).
 */
export function tryLinks(surfaces, optimizers, { lang, chain }) {
  const keep = (lesson, state) => `/${writeQuery({ ...state, lang, lesson })}`;
  /** A runner with the learning rate the race gives it on this surface, as the race's default race has. */
  const runner = (optimizer, surface) => {
    const lr = visibleLr(optimizers.get(optimizer), surface);
    return { optimizer, start: null, hyperparameters: { lr } };
  };
  const bowl = surfaces.get("ill_conditioned_bowl");
  const comparison = surfaces.get(COMPARISON_SURFACE);
  const lrComparison = visibleLr(optimizers.get("sgd"), comparison);
  const { W, b, x, target } = chain;
  const cnn = (act) => ({
    tab: "cnn",
    "cnn.net": "mlp",
    "cnn.depth": 8,
    "cnn.act": act,
    "cnn.opt": { optimizer: "sgd", start: null, hyperparameters: { lr: 0.1 } },
    "cnn.play": true,
  });
  const race = (sel) => ({
    surface: "ill_conditioned_bowl",
    runner: [runner("sgd", bowl), runner("momentum", bowl), runner("adam", bowl)],
    sel,
    speed: 10,
  });
  return {
    gradient: [{ key: "learn.gradient.try", href: keep("gradient", { surface: "quadratic_bowl", runner: [sgd(0.1)], play: false }) }],
    descent: [
      { key: "learn.descent.try", href: keep("descent", { surface: "ill_conditioned_bowl", runner: BOWL_LRS.map((lr) => sgd(lr)), sel: 1 }) },
      { key: "learn.descent.try_minima", href: keep("descent", { surface: "three_hump_camel", runner: MINIMA_STARTS.map((start) => sgd(MINIMA_LR, { start })) }) },
    ],
    chain: [
      {
        key: "learn.chain.try",
        // L(W, b) = (W·x + b − t)² for this one sample, plotted over (W, b), one SGD runner from (W, b):
        // its first step's gradient is the graph's (∂L/∂W, ∂L/∂b). Stable for η < 1/(x² + 1).
        href: keep("chain", {
          surface: "custom",
          expr: `(${formatNumber(x)}*x + y - (${formatNumber(target)}))^2`,
          xr: [W - 5, W + 5],
          yr: [b - 8, b + 8],
          runner: [{ optimizer: "sgd", start: [W, b], hyperparameters: { lr: Number((0.4 / (x * x + 1)).toPrecision(2)) } }],
          play: false,
        }),
      },
    ],
    backprop: [
      { key: "learn.backprop.try_sigmoid", href: keep("backprop", cnn("sigmoid")) },
      { key: "learn.backprop.try_relu", href: keep("backprop", cnn("relu")) },
    ],
    batches: [
      {
        key: "learn.batches.try",
        // What the race's "Batch vs SGD vs mini-batch" button starts: one SGD per batch mode, the mini-batch selected.
        href: keep("batches", {
          surface: COMPARISON_SURFACE,
          runner: COMPARISON_BATCHES.map((batch) => sgd(lrComparison, batch === null ? {} : { batch })),
          sel: COMPARISON_BATCHES.length - 1,
        }),
      },
    ],
    beyond: [
      { key: "learn.beyond.try_momentum", href: keep("beyond", race(1)) },
      { key: "learn.beyond.try_adam", href: keep("beyond", race(2)) },
    ],
    stability: [{ key: "learn.stability.try", href: keep("stability", EDGE_OF_STABILITY) }],
  };
}
