// The CNN tab, built the first time it is shown (main.js's table of tabs): read its settings from the URL,
// build its views, open its socket, and draw what the training sends, at most every TICK_MS per view.
import * as api from "../api.js";
import { $, el } from "../dom.js";
import { onLanguageChange, t } from "../i18n.js";
import { plotlyReady } from "../plotly.js";
import { readUrl } from "../state.js";
import { toast } from "../toast.js";
import * as commands from "./commands.js";
import { exposeHook } from "./hook.js";
import { connect, send } from "./messages.js";
import { onStatus, renderNumbers, renderSettings, renderTransport } from "./render.js";
import { cnn, settingsFromUrl, syncUrl, views } from "./state.js";
import { LayerGradChart, LossChart, UpdateRatioChart, weightLayers } from "./views/charts.js";
import { Confusion } from "./views/confusion.js";
import { NetworkDiagram } from "./views/diagram.js";
import { Filters } from "./views/filters.js";
import { Histograms } from "./views/histograms.js";
import { LandscapePanel } from "./views/landscape.js";
import { NoiseNote, SharpnessNote } from "./views/measurements.js";
import { ModelForm } from "./views/model-form.js";
import { Predictions } from "./views/predictions.js";
import { Tooltip } from "./views/tooltip.js";
import { TrainerForm } from "./views/trainer-form.js";
import { CnnTransport } from "./views/transport.js";

const TICK_MS = 250; // charts: one Plotly call each at most 4 times a second, with every new point

/**
 * The tab's charts, each once: how it is made, the boxes whose size it follows, how it draws (`step`: when
 * new steps came, `snapshot`: when a new snapshot came, `tick`: every tick), resizes, and resets (draws whole
 * again: a new language, the tab shown again). Its view is views[id]. A draw may return Plotly's promise.
 * Adding a chart is one entry.
 */
const CHARTS = [
  {
    id: "diagram",
    create: () => new NetworkDiagram({ root: $("cnn-diagram"), legend: $("cnn-diagram-legend"), tooltip: views.tooltip }),
    step: (view, store) => view.update(store.last),
    reset: (view) => {
      view.renderLegend();
      if (cnn.server) view.render(cnn.server.layers);
      view.update(cnn.store.last);
    },
  },
  {
    id: "loss",
    boxes: ["cnn-loss-chart"],
    create: () => new LossChart($("cnn-loss-chart")),
    step: (view, store) => view.update(store),
    resize: (view) => view.resize(),
    reset: (view) => view.invalidate(),
  },
  {
    id: "sharpnessNote",
    create: () => new SharpnessNote($("cnn-sharp-note")),
    step: (view, store) => view.update(store, cnn.trainer),
    reset: (view) => view.update(cnn.store, cnn.trainer),
  },
  {
    id: "noiseNote",
    create: () => new NoiseNote($("cnn-noise-note")),
    step: (view, store) => view.update(store, cnn.trainer),
    reset: (view) => view.update(cnn.store, cnn.trainer),
  },
  {
    id: "grads",
    boxes: ["cnn-grad-chart"],
    create: () => new LayerGradChart($("cnn-grad-chart")),
    step: (view, store) => {
      renderGradLegend(store);
      return view.update(store);
    },
    resize: (view) => view.resize(),
    reset: (view) => {
      drawn.legend = "";
      view.invalidate();
    },
  },
  {
    id: "ratio",
    boxes: ["cnn-ratio-chart"],
    create: () => new UpdateRatioChart($("cnn-ratio-chart")),
    step: (view, store) => view.update(store),
    resize: (view) => view.resize(),
    reset: (view) => view.invalidate(),
  },
  {
    id: "predictions",
    create: () => new Predictions($("cnn-predictions"), $("cnn-predictions-summary"), views.tooltip),
    snapshot: (view, store) => view.update(store.snapshot.predictions),
    reset: (view) => view.update(cnn.store.snapshot?.predictions ?? []),
  },
  {
    id: "confusion",
    boxes: ["cnn-confusion"],
    create: () => new Confusion($("cnn-confusion"), $("cnn-confusion-summary")),
    snapshot: (view, store) => view.update(store.snapshot),
    resize: (view) => view.resize(),
    reset: (view) => view.update(cnn.store.snapshot, true),
  },
  {
    id: "filters",
    boxes: ["cnn-filters-weights"],
    create: () =>
      new Filters({
        weights: $("cnn-filters-weights"),
        grads: $("cnn-filters-grads"),
        note: $("cnn-filters-note"),
        weightsScale: $("cnn-filters-weights-scale"),
        gradsScale: $("cnn-filters-grads-scale"),
        tooltip: views.tooltip,
      }),
    snapshot: (view, store) => view.update(store.snapshot),
    resize: (view) => view.redraw(),
    reset: (view) => view.redraw(),
  },
  {
    id: "histograms",
    boxes: ["cnn-hist-grad"],
    create: () =>
      new Histograms({ select: $("cnn-hist-param"), grad: $("cnn-hist-grad"), weight: $("cnn-hist-weight"), note: $("cnn-hist-note") }),
    snapshot: (view, store) => view.update(store),
    resize: (view) => view.resize(),
    reset: (view) => view.invalidate(),
  },
  {
    id: "landscape",
    boxes: ["cnn-landscape-plot", "cnn-landscape-line"],
    create: () => new LandscapePanel({ send }),
    tick: (view, store) => view.draw(store.last?.step ?? cnn.server?.step ?? 0),
    resize: (view) => view.resize(),
    reset: (view) => view.invalidate(),
  },
];

let built = null; // the promise of build()
let shown = false; // tabs.js shows this tab: it draws, and its keys apply
let timer = null;
const drawn = { version: -1, generation: -1, snapshot: -1, legend: "" };

async function build() {
  const [optimizers] = await Promise.all([api.getOptimizers(), plotlyReady()]);
  for (const o of optimizers) cnn.optimizers.set(o.id, o);
  settingsFromUrl(readUrl());
  views.tooltip = new Tooltip($("cnn-tip"));
  views.modelForm = new ModelForm({ onChange: commands.changeModel, onPreset: commands.applyPreset });
  views.trainerForm = new TrainerForm(cnn.optimizers, {
    onOptimizer: commands.setOptimizer,
    onHyperparameters: commands.setHyperparameters,
    onBatch: commands.setBatch,
    onSchedule: commands.setSchedule,
    onMeasurements: commands.setMeasurements,
  });
  views.transport = new CnnTransport({
    onPlay: commands.togglePlay,
    onStep: commands.stepOnce,
    onReset: commands.reset,
    onSpeed: commands.setSpeed,
  });
  for (const chart of CHARTS) views[chart.id] = chart.create();
  render();
  onStatus("idle");
  wireKeys();
  onLanguageChange(relabel);
  const resize = new ResizeObserver(() => {
    if (!shown) return;
    for (const chart of CHARTS) chart.resize?.(views[chart.id]);
  });
  for (const chart of CHARTS) for (const id of chart.boxes ?? []) resize.observe($(id));
  exposeHook();
}

function render() {
  views.modelForm.render();
  views.trainerForm.render();
  renderSettings();
  renderTransport();
}

/** A new language: the forms and every chart again. */
function relabel() {
  render();
  resetCharts();
  onStatus(cnn.connection);
  drawn.version = -1; // drawn again now, in the new language, even while paused
  drawn.snapshot = -1;
  tick();
}

function resetCharts() {
  for (const chart of CHARTS) caught(chart.reset?.(views[chart.id]), views[chart.id]);
}

function wireKeys() {
  document.addEventListener("keydown", (event) => {
    if (!shown || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
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

/** A Plotly promise whose failure is shown; the view redraws whole at the next tick. */
function caught(promise, view) {
  promise?.catch?.((error) => {
    view.invalidate?.();
    toast(error.message, "error");
  });
}

/** Draw what changed since the last tick: steps (diagram, charts, numbers), snapshots (the side panels). */
function tick() {
  if (!shown) return;
  const store = cnn.store;
  const draw = (pace) => {
    for (const chart of CHARTS) if (chart[pace]) caught(chart[pace](views[chart.id], store), views[chart.id]);
  };
  if (store.version !== drawn.version || store.generation !== drawn.generation) {
    drawn.version = store.version;
    drawn.generation = store.generation;
    draw("step");
    views.trainerForm.showStep(store.lastStep);
    renderNumbers();
  }
  if (store.snapshotVersion !== drawn.snapshot && store.snapshot) {
    drawn.snapshot = store.snapshotVersion;
    draw("snapshot");
    renderNumbers();
  }
  draw("tick");
}

/** The gradient chart's key: each weight layer's name in its line's colour. */
function renderGradLegend(store) {
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
  shown = true;
  built ??= build();
  try {
    await built;
  } catch (error) {
    built = null;
    toast(t("cnn.error.load", { message: error.message }), "error");
    return;
  }
  if (!shown) return;
  connect();
  resetCharts();
  drawn.version = -1;
  drawn.snapshot = -1;
  clearInterval(timer);
  timer = setInterval(tick, TICK_MS);
  syncUrl();
  tick();
}

export function hide() {
  shown = false;
  clearInterval(timer);
  views.diagram?.leave();
  views.tooltip?.hide();
}
