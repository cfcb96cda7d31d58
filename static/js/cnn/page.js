// The CNN tab, built the first time it is shown (tabs.js): read its settings from the URL, build its
// views, open its socket, and draw what the training sends, at most every TICK_MS per view.
import * as api from "../api.js";
import { el, plotlyReady } from "../dom.js";
import { onLanguageChange, t } from "../i18n.js";
import { toast } from "../render.js";
import { readUrl } from "../state.js";
import { currentTab } from "../tabs.js";
import { cnn, settingsFromUrl, syncUrl, views } from "./app.js";
import { LayerGradChart, LossChart, UpdateRatioChart, weightLayers } from "./charts.js";
import * as commands from "./commands.js";
import { Confusion } from "./confusion.js";
import { NetworkDiagram } from "./diagram.js";
import { Filters } from "./filters.js";
import { Histograms } from "./histograms.js";
import { LandscapePanel } from "./landscape.js";
import { ModelForm } from "./model-form.js";
import { Predictions } from "./predictions.js";
import { CnnSession } from "./session.js";
import { Tooltip } from "./tooltip.js";
import { TrainerForm } from "./trainer-form.js";
import { CnnTransport } from "./transport.js";

const TICK_MS = 250; // charts: one Plotly call each at most 4 times a second, with every new point
const $ = (id) => document.getElementById(id);

let built = null; // the promise of build()
let visible = false;
let timer = null;
const drawn = { version: -1, generation: -1, snapshot: -1, legend: "" };

async function build() {
  const [optimizers] = await Promise.all([api.getOptimizers(), plotlyReady()]);
  for (const o of optimizers) cnn.optimizers.set(o.id, o);
  settingsFromUrl(readUrl());
  const tooltip = new Tooltip($("cnn-tip"));
  views.tooltip = tooltip;
  views.session = new CnnSession({
    onHello: commands.onHello,
    onState: commands.onState,
    onFrame: commands.onFrame,
    onSnapshot: commands.onSnapshot,
    onNotice: commands.onNotice,
    onError: commands.onError,
    onStatus: commands.onStatus,
    onLandscape: commands.onLandscape,
  });
  views.modelForm = new ModelForm({ onChange: commands.changeModel, onPreset: commands.applyPreset });
  views.trainerForm = new TrainerForm(cnn.optimizers, {
    onOptimizer: commands.setOptimizer,
    onHyperparameters: commands.setHyperparameters,
    onBatch: commands.setBatch,
    onSchedule: commands.setSchedule,
  });
  views.transport = new CnnTransport({
    onPlay: commands.togglePlay,
    onStep: commands.stepOnce,
    onReset: commands.reset,
    onSpeed: commands.setSpeed,
  });
  views.diagram = new NetworkDiagram({ root: $("cnn-diagram"), legend: $("cnn-diagram-legend"), tooltip });
  views.loss = new LossChart($("cnn-loss-chart"));
  views.grads = new LayerGradChart($("cnn-grad-chart"));
  views.ratio = new UpdateRatioChart($("cnn-ratio-chart"));
  views.histograms = new Histograms({
    select: $("cnn-hist-param"),
    grad: $("cnn-hist-grad"),
    weight: $("cnn-hist-weight"),
    note: $("cnn-hist-note"),
  });
  views.filters = new Filters({
    weights: $("cnn-filters-weights"),
    grads: $("cnn-filters-grads"),
    note: $("cnn-filters-note"),
    weightsScale: $("cnn-filters-weights-scale"),
    gradsScale: $("cnn-filters-grads-scale"),
    tooltip,
  });
  views.predictions = new Predictions($("cnn-predictions"), $("cnn-predictions-summary"), tooltip);
  views.confusion = new Confusion($("cnn-confusion"), $("cnn-confusion-summary"));
  views.landscape = new LandscapePanel({ send: (type, fields) => views.session.send(type, fields) });
  render();
  commands.onStatus("idle");
  wireKeys();
  onLanguageChange(() => {
    render();
    drawn.legend = "";
    for (const chart of [views.loss, views.grads, views.ratio, views.histograms]) chart.invalidate();
    views.diagram.renderLegend();
    if (cnn.server) views.diagram.render(cnn.server.layers);
    views.diagram.update(cnn.store.last);
    views.predictions.update(cnn.store.snapshot?.predictions ?? []);
    views.filters.redraw();
    shown(views.confusion.update(cnn.store.snapshot, true));
    views.landscape.invalidate();
    commands.onStatus(cnn.connection);
    tick();
  });
  const resize = new ResizeObserver(() => {
    if (!visible) return;
    for (const chart of [views.loss, views.grads, views.ratio, views.histograms, views.confusion, views.landscape]) chart.resize();
    views.filters.redraw();
  });
  for (const id of ["cnn-loss-chart", "cnn-grad-chart", "cnn-ratio-chart", "cnn-hist-grad", "cnn-confusion", "cnn-filters-weights", "cnn-landscape-plot", "cnn-landscape-line"]) resize.observe($(id));
  exposeHook();
}

function render() {
  views.modelForm.render();
  views.trainerForm.render();
  commands.renderSettings();
  commands.renderTransport();
}

function wireKeys() {
  document.addEventListener("keydown", (event) => {
    if (currentTab() !== "cnn" || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
    if (event.key === " ") {
      event.preventDefault();
      commands.togglePlay();
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      commands.stepOnce();
    } else if (event.key === "r" || event.key === "R") {
      event.preventDefault();
      commands.reset();
    }
  });
}

/** A Plotly promise whose failure is shown; the view redraws at the next tick. */
function shown(promise, view) {
  promise?.catch?.((error) => {
    view?.invalidate?.();
    toast(error.message, "error");
  });
}

/** Draw what changed since the last tick: steps (diagram, charts, numbers), snapshots (the side panels). */
function tick() {
  if (!visible) return;
  const store = cnn.store;
  if (store.version !== drawn.version || store.generation !== drawn.generation) {
    drawn.version = store.version;
    drawn.generation = store.generation;
    views.diagram.update(store.last);
    shown(views.loss.update(store), views.loss);
    shown(views.grads.update(store), views.grads);
    shown(views.ratio.update(store), views.ratio);
    renderLegend(store);
    views.trainerForm.showStep(store.lastStep);
    commands.renderNumbers();
  }
  if (store.snapshotVersion !== drawn.snapshot && store.snapshot) {
    drawn.snapshot = store.snapshotVersion;
    views.predictions.update(store.snapshot.predictions);
    shown(views.confusion.update(store.snapshot));
    views.filters.update(store.snapshot);
    shown(views.histograms.update(store), views.histograms);
    commands.renderNumbers();
  }
  shown(views.landscape.draw(store.last?.step ?? cnn.server?.step ?? 0), views.landscape);
}

/** The gradient chart's key: each weight layer's name in its line's colour. */
function renderLegend(store) {
  const layers = weightLayers(store);
  const key = layers.map((l) => l.name).join();
  if (key === drawn.legend) return;
  drawn.legend = key;
  $("cnn-grad-legend").replaceChildren(
    ...layers.map(({ name, color }) =>
      el("span", { className: "legend-item" }, [el("span", { className: "legend-swatch", attrs: { style: `background:${color}` } }), el("span", { text: name })]),
    ),
  );
}

export async function show() {
  built ??= build();
  try {
    await built;
  } catch (error) {
    built = null;
    toast(t("cnn.error.load", { message: error.message }), "error");
    return;
  }
  if (currentTab() !== "cnn") return;
  visible = true;
  views.session.open();
  for (const chart of [views.loss, views.grads, views.ratio, views.histograms, views.landscape]) chart.invalidate();
  drawn.version = -1;
  drawn.snapshot = -1;
  clearInterval(timer);
  timer = setInterval(tick, TICK_MS);
  syncUrl();
  tick();
}

export function hide() {
  visible = false;
  clearInterval(timer);
  views.diagram?.leave();
  views.tooltip?.hide();
}

/** window.gdvizCnn: read-only getters for tests; nothing here changes the page. */
function exposeHook() {
  const column = (c) => Array.from(c.data.subarray(0, c.length));
  window.gdvizCnn = Object.freeze({
    get connection() {
      return cnn.connection;
    },
    get playing() {
      return cnn.playing;
    },
    get opened() {
      return views.session.opened;
    },
    get state() {
      return cnn.server ? structuredClone(cnn.server) : null;
    },
    get settings() {
      return structuredClone({ model: cnn.model, trainer: cnn.trainer, seed: cnn.seed, speed: cnn.speed });
    },
    get steps() {
      return cnn.store.length;
    },
    get snapshotStep() {
      return cnn.store.snapshot?.step ?? null;
    },
    series: (name) => (cnn.store.cols[name] ? column(cnn.store.cols[name]) : null),
    layerGrads: (name) => (cnn.store.layerGrad.has(name) ? column(cnn.store.layerGrad.get(name)) : null),
    last: () => (cnn.store.last ? structuredClone(cnn.store.last) : null),
    colors: () => Object.fromEntries(views.diagram.colors),
    points: (id) => (document.getElementById(id)?.data ?? []).map((trace) => trace.x?.length ?? 0),
    histogramColumns: () => views.histograms.columns,
    landscape: () => views.landscape.summary(),
  });
}
