// The page's whole state in the URL, through one table of properties (docs/url-state.md describes it), for
// every tab. Each property has a name (the query key), a type that reads and writes it, and a default that
// is left out of the URL. Knows nothing of the DOM beyond location and history.

const number = (text) => {
  const value = Number(text);
  return text.trim() !== "" && Number.isFinite(value) ? value : undefined;
};

// Numbers are written short but exact enough to round-trip a slider position.
export function formatNumber(value) {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(6)));
}

const TYPES = {
  string: { read: (text) => text || undefined, write: String },
  int: {
    read: (text) => {
      const value = number(text);
      return Number.isInteger(value) ? value : undefined;
    },
    write: String,
  },
  float: { read: number, write: formatNumber },
  batch: { read: (text) => (text === "full" ? "full" : TYPES.int.read(text)), write: String }, // an int or "full"
  bool: { read: (text) => ({ 1: true, true: true, 0: false, false: false })[text], write: (v) => (v ? "1" : "0") },
  range: {
    read: (text) => {
      const parts = text.split(",").map(number);
      return parts.length === 2 && parts.every((v) => v !== undefined) && parts[0] < parts[1] ? parts : undefined;
    },
    write: (v) => v.map(formatNumber).join(","),
  },
  runner: { read: readRunner, write: writeRunner },
  blocks: { read: readBlocks, write: (blocks) => blocks.map((b) => `${b.channels}:${b.kernel}:${b.pool}`).join(",") },
  schedule: { read: readSchedule, write: writeSchedule },
  params: { read: readParams, write: writeParams },
};

/** The one table: query key, type, default (omitted from the URL), and, for enums, the allowed values. */
export const PROPERTIES = [
  { name: "surface", type: "string", fallback: "rosenbrock" }, // a built-in id, or "custom"
  { name: "expr", type: "string", fallback: "" }, // the custom f(x, y) when surface=custom
  { name: "xr", type: "range", fallback: null }, // the custom surface's x range
  { name: "yr", type: "range", fallback: null }, // and its y range
  { name: "data", type: "params", fallback: {} }, // a data problem's data set, where not the default
  { name: "runner", type: "runner", repeated: true, fallback: [] }, // one per runner, in race order
  { name: "sel", type: "int", fallback: 0 }, // index of the selected runner
  { name: "speed", type: "float", fallback: 60 }, // steps per second per runner
  { name: "seed", type: "int", fallback: 0 },
  { name: "play", type: "bool", fallback: true }, // start playing on load
  { name: "view", type: "string", values: ["contour", "surface"], fallback: "contour" },
  { name: "basins", type: "bool", fallback: false }, // basin map shown over the contour
  { name: "samples", type: "bool", fallback: false }, // data problems: the per-sample gradient cloud
  { name: "lang", type: "string", values: ["en", "zh"], fallback: null }, // null: remembered or browser's
  { name: "tab", type: "string", fallback: "surfaces" }, // the view shown: an id of main.js's TABS
  // The Learn tab: the lesson open (static/js/learn/lessons.js LESSONS, in order).
  { name: "lesson", type: "string", values: ["gradient", "descent", "chain", "backprop", "batches", "beyond", "stability"], fallback: "gradient" },
  // The CNN tab (docs/url-state.md): the network, how it trains, and its transport.
  { name: "cnn.net", type: "string", values: ["cnn", "mlp"], fallback: "cnn" },
  { name: "cnn.blocks", type: "blocks", fallback: [{ channels: 16, kernel: 3, pool: "max" }, { channels: 32, kernel: 3, pool: "max" }] },
  { name: "cnn.depth", type: "int", fallback: 1 }, // hidden dense layers
  { name: "cnn.width", type: "int", fallback: 64 }, // units per hidden dense layer
  { name: "cnn.act", type: "string", values: ["relu", "leaky_relu", "tanh", "sigmoid", "gelu"], fallback: "relu" },
  { name: "cnn.bn", type: "bool", fallback: false }, // batch norm
  { name: "cnn.dropout", type: "float", fallback: 0 },
  { name: "cnn.init", type: "string", values: ["default", "xavier", "kaiming", "too_small", "too_large"], fallback: "default" },
  { name: "cnn.opt", type: "runner", fallback: { optimizer: "adam", start: null, hyperparameters: { lr: 0.001 } } },
  { name: "cnn.batch", type: "batch", fallback: 64 }, // digits per step, or "full"
  { name: "cnn.sched", type: "schedule", fallback: { kind: "constant" } },
  { name: "cnn.sharp", type: "int", fallback: 0 }, // steps between sharpness measurements, 0: off
  { name: "cnn.noise", type: "int", fallback: 0 }, // steps between noise-scale measurements, 0: off
  { name: "cnn.samples", type: "int", fallback: 512 }, // digits both are measured on
  { name: "cnn.speed", type: "float", fallback: 50 }, // optimizer steps per second
  { name: "cnn.seed", type: "int", fallback: 0 },
  { name: "cnn.play", type: "bool", fallback: false }, // start training as soon as the tab opens
];

/**
 * A runner as `optimizer@x,y;name=value;...`, e.g. `adam@-1.2,1;lr=0.05;betas=0.9,0.999;amsgrad=true`.
 * Values are numbers, `a,b` pairs or true/false; they are checked against the optimizer later.
 * On a data problem `batch=k` is the runner's batch: 1 stochastic, k ≥ 2 a mini-batch; omitted, full batch.
 */
function readRunner(text) {
  const [head, ...pairs] = text.split(";");
  const match = /^([a-z0-9_]+)(?:@(-?[\d.eE+-]+),(-?[\d.eE+-]+))?$/.exec(head);
  if (!match) return undefined;
  const start = match[2] === undefined ? null : [number(match[2]), number(match[3])];
  if (start && start.includes(undefined)) return undefined;
  const hyperparameters = {};
  let batch = null;
  for (const pair of pairs) {
    const [name, raw] = pair.split("=");
    if (!/^[a-z0-9_]+$/.test(name || "") || raw === undefined) continue;
    if (name === "batch") {
      const k = number(raw);
      if (Number.isInteger(k) && k >= 1) batch = k;
    } else if (raw === "true" || raw === "false") hyperparameters[name] = raw === "true";
    else if (raw.includes(",")) {
      const values = raw.split(",").map(number);
      if (values.length === 2 && !values.includes(undefined)) hyperparameters[name] = values;
    } else if (number(raw) !== undefined) hyperparameters[name] = number(raw);
  }
  return batch === null ? { optimizer: match[1], start, hyperparameters } : { optimizer: match[1], start, hyperparameters, batch };
}

function writeRunner(runner) {
  const head = runner.start ? `${runner.optimizer}@${runner.start.map(formatNumber).join(",")}` : runner.optimizer;
  const pairs = Object.entries(runner.hyperparameters).map(([name, value]) => {
    if (typeof value === "boolean") return `${name}=${value}`;
    if (Array.isArray(value)) return `${name}=${value.map(formatNumber).join(",")}`;
    return `${name}=${formatNumber(value)}`;
  });
  if (runner.batch) pairs.push(`batch=${runner.batch}`);
  return [head, ...pairs].join(";");
}

/** A data set's parameters as `name:value,…`, e.g. `n:100,noise:2,standardize:true`. */
function readParams(text) {
  const params = {};
  for (const item of text.split(",")) {
    const [name, raw] = item.split(":");
    if (!/^[a-z0-9_]+$/.test(name || "") || raw === undefined) continue;
    if (raw === "true" || raw === "false") params[name] = raw === "true";
    else if (number(raw) !== undefined) params[name] = number(raw);
  }
  return Object.keys(params).length ? params : undefined;
}

function writeParams(params) {
  return Object.entries(params)
    .map(([name, value]) => `${name}:${typeof value === "boolean" ? value : formatNumber(value)}`)
    .join(",");
}

/** Convolution blocks as `channels:kernel:pool,…`, e.g. `16:3:max,32:5:none`; the CNN tab checks them. */
function readBlocks(text) {
  const blocks = [];
  for (const part of text.split(",")) {
    const match = /^(\d+):(\d+):([a-z]+)$/.exec(part);
    if (!match) return undefined;
    blocks.push({ channels: Number(match[1]), kernel: Number(match[2]), pool: match[3] });
  }
  return blocks.length ? blocks : undefined;
}

/** A learning-rate schedule as `kind;name=value;…`, e.g. `step;gamma=0.5;every=200`, or `constant`. */
function readSchedule(text) {
  const [kind, ...pairs] = text.split(";");
  if (!/^[a-z_]+$/.test(kind)) return undefined;
  const schedule = { kind };
  for (const pair of pairs) {
    const [name, raw] = pair.split("=");
    if (/^[a-z_]+$/.test(name || "") && raw !== undefined && number(raw) !== undefined) schedule[name] = number(raw);
  }
  return schedule;
}

function writeSchedule(schedule) {
  const pairs = Object.entries(schedule).filter(([name]) => name !== "kind");
  return [schedule.kind, ...pairs.map(([name, value]) => `${name}=${formatNumber(value)}`)].join(";");
}

// Readable URLs: keep , ; : @ / = as they are (all legal in a query), escape the rest.
function escape(text) {
  return encodeURIComponent(text).replace(/%(2C|3B|3A|40|2F|3D)/g, (m, hex) => String.fromCharCode(parseInt(hex, 16)));
}

function unescape(text) {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return "";
  }
}

/** Parse a query string into {name: value} for every property it sets validly. */
export function readQuery(search) {
  const raw = new Map();
  for (const part of search.replace(/^\?/, "").split("&")) {
    if (!part) continue;
    const cut = part.indexOf("=");
    const key = unescape(cut < 0 ? part : part.slice(0, cut));
    const value = unescape(cut < 0 ? "" : part.slice(cut + 1));
    if (!raw.has(key)) raw.set(key, []);
    raw.get(key).push(value);
  }
  const state = {};
  for (const prop of PROPERTIES) {
    const texts = raw.get(prop.name);
    if (!texts) continue;
    const read = (text) => {
      const value = TYPES[prop.type].read(text);
      return prop.values && !prop.values.includes(value) ? undefined : value;
    };
    if (prop.repeated) state[prop.name] = texts.map(read).filter((v) => v !== undefined);
    else if (read(texts[0]) !== undefined) state[prop.name] = read(texts[0]);
  }
  return state;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Write {name: value} as a query string, in table order, leaving out defaults and unset values. */
export function writeQuery(state) {
  const parts = [];
  for (const prop of PROPERTIES) {
    const value = state[prop.name];
    if (value === undefined || value === null || same(value, prop.fallback)) continue;
    const write = TYPES[prop.type].write;
    for (const item of prop.repeated ? value : [value]) parts.push(`${prop.name}=${escape(write(item))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

export function defaults() {
  return Object.fromEntries(PROPERTIES.map((p) => [p.name, p.fallback]));
}

/** The URL's state over the defaults. */
export function readUrl() {
  return { ...defaults(), ...readQuery(window.location.search) };
}

let pending = null;
// Each part of the page writes its own keys (the race, the CNN tab, the Learn tab, the tab bar, the language).
// The URL is their union over the query the page was opened with, so a view not built yet keeps its keys.
const parts = new Map(); // owner → {name: value}
let opened = null;

function merged() {
  opened ??= readQuery(window.location.search);
  return Object.assign({}, opened, ...parts.values());
}

/** Replace the URL (no new history entry) with this owner's state over the others', at most every 250 ms. */
export function writeUrl(state, owner) {
  parts.set(owner, state);
  clearTimeout(pending);
  pending = setTimeout(() => {
    const query = writeQuery(merged());
    if (query !== window.location.search) {
      window.history.replaceState(null, "", `${window.location.pathname}${query}${window.location.hash}`);
    }
  }, 250);
}

/** The link to share: this page with this owner's state over the others'. */
export function shareUrl(state, owner) {
  parts.set(owner, state);
  return `${window.location.origin}${window.location.pathname}${writeQuery(merged())}`;
}
