// The race tab (optimizers racing on a 2-D surface), started by main.js at boot whichever tab is shown (its
// session runs behind the others): read the URL, load the catalogs, build the views, open the socket, and
// route each person's action to a command and each server message to the model, the store and the views.
import * as api from "../api.js";
import { $, fmt, reducedMotion } from "../dom.js";
import { visibleLr } from "../hyperparameters.js";
import { onLanguageChange, t } from "../i18n.js";
import { plotlyReady } from "../plotly.js";
import { shareUrl } from "../state.js";
import { toast } from "../toast.js";
import {
  addNewRunner,
  changeOptimizer,
  duplicateRunner,
  removeRunner,
  reset,
  selectRunner,
  setBasins,
  setBatch,
  setSamples,
  setSideTab,
  setSpeed,
  setStart,
  setView,
  stepOnce,
  togglePlay,
  updateHyperparameters,
} from "./commands.js";
import { wireExport } from "./export.js";
import { exposeHook } from "./hook.js";
import { connect } from "./messages.js";
import { batchFromSize, CUSTOM, DEFAULT_RACE, FULL_BATCH, inside, MAX_RACE, Race } from "./model.js";
import {
  invalidate,
  onStatus,
  renderAll,
  renderBasinLegend,
  requestDraw,
  showPlotError,
  SLOW_TICK_MS,
  slowTick,
  useCharts,
} from "./render.js";
import { app, isData, lossIsPositive, syncUrl, urlState, views } from "./state.js";
import {
  chooseCustom,
  chooseDataParams,
  chooseSurface,
  expressionError,
  fetchGrid,
  loadGrid,
  restoreSurface,
  startComparison,
  useSurface,
} from "./surfaces.js";
import { Breakdown } from "./views/breakdown.js";
import { ContourView } from "./views/contour.js";
import { SurfaceControls, Transport } from "./views/controls.js";
import { BatchNoise, DataParams, ScatterView } from "./views/data.js";
import { LossChart } from "./views/loss.js";
import { AxesLayer, CurvatureView } from "./views/curvature.js";
import { axisUpdate, BasinMap, StabilityMap } from "./views/maps.js";
import { PathLayer } from "./views/paths.js";
import { RaceView } from "./views/race.js";
import { SurfaceView } from "./views/surface3d.js";
import { Timeline } from "./views/timeline.js";

/**
 * The race's charts, each once: how it is made, the boxes whose size it follows, how it draws (`frame`: every
 * animation frame, at the timeline's cursor; `tick`: one Plotly call at the chart tick), resizes, and resets
 * when the language changes. Its view is views[id]. Adding a chart is one entry.
 */
const CHARTS = [
  {
    id: "contour",
    boxes: ["plot-wrap"],
    create: () =>
      new ContourView($("contour"), {
        onClick: (x, y, shift) => setStart(x, y, shift),
        onPointer: showCursor,
        onLayout: () => {
          const div = $("contour");
          views.paths.resize(div.clientWidth, div.clientHeight);
          views.axes?.resize(div.clientWidth, div.clientHeight);
          requestDraw();
        },
      }),
    resize: (view) => view.resize(),
    reset: (view) => view.relabel(),
  },
  {
    id: "paths",
    create: () => new PathLayer({ halo: $("overlay-halo"), lines: $("overlay-lines"), top: $("overlay") }),
    frame: (view, { cursor }) => {
      if (app.view !== "contour") return;
      const samples = app.samples && isData();
      view.draw({ map: views.contour.mapping(), race: app.race, store: app.store, cursor, hover: app.hover, samples });
    },
  },
  {
    id: "axes",
    create: () => new AxesLayer($("overlay-axes")),
    frame: (view, { cursor }) => {
      const on = app.view === "contour" && app.curvature;
      view.draw({ map: on ? views.contour.mapping() : null, race: app.race, store: app.store, cursor, on });
    },
  },
  {
    id: "surface3d",
    boxes: ["plot-wrap"],
    create: () => new SurfaceView($("surface3d")),
    tick: (view) => view.update(app.race, app.store),
    resize: (view) => view.resize(),
    reset: (view) => view.markStale(),
  },
  {
    id: "loss",
    boxes: ["loss-chart"],
    create: () =>
      new LossChart($("loss-chart"), {
        onHover: (id, step) => {
          app.hover = { id, step };
          requestDraw();
        },
        onUnhover: () => {
          app.hover = null;
          requestDraw();
        },
        onPick: (id, step) => {
          selectRunner(id);
          views.timeline.seek(step);
        },
      }),
    tick: (view) => {
      const positive = lossIsPositive();
      $("loss-axis-note").textContent = positive ? t("loss.log_note") : "";
      return view.update(app.race, app.store, positive, isData());
    },
    resize: (view) => view.resize(),
    reset: (view) => {
      view.relabel();
      view.restyle(app.race);
    },
  },
  {
    id: "stability",
    boxes: ["stability-chart"],
    create: () =>
      new StabilityMap(
        {
          chart: $("stability-chart"),
          legend: $("stability-legend"),
          status: $("stability-status"),
          boundary: $("stability-boundary-note"),
        },
        { onPick: pickStability },
      ),
    resize: (view) => view.resize(),
    reset: (view) => view.relabel(),
  },
  {
    id: "curvature",
    boxes: ["curvature-chart"],
    create: () => new CurvatureView({ chart: $("curvature-chart"), summary: $("curvature-summary"), note: $("curvature-note") }),
    tick: (view) => view.update(app.race, app.store, app.surface, app.sideTab === "curvature"),
    resize: (view) => view.resize(),
    reset: (view) => view.relabel(),
  },
  {
    id: "scatter",
    boxes: ["data-chart"],
    create: () => new ScatterView({ chart: $("data-chart"), overlay: $("data-overlay"), hint: $("data-hint"), count: $("data-count") }),
    frame: (view, { cursor }) => {
      if (isData()) view.draw(app.race, app.store, cursor ? cursor.step : null);
    },
    resize: (view) => view.resize(),
    reset: (view) => view.relabel(),
  },
];

let built = null; // the promise of build(): {ok, grid} once the views are there
let shown = false; // tabs.js shows this tab: its keys and resizes apply

function showCursor(point) {
  const node = $("cursor-readout");
  node.hidden = !point;
  if (point) {
    const j = views.contour.valueAt(...point);
    node.textContent = t("plot.cursor", { x: fmt(point[0], 3), y: fmt(point[1], 3), j: fmt(j, 4) });
  }
}

/** A cell of the stability map: its learning rate (and second hyperparameter) for the selected runner. */
function pickStability(lr, axis, value) {
  const runner = app.race.current;
  if (!runner) return;
  const partial = { lr: Number(lr.toPrecision(3)) };
  if (axis && value !== null) Object.assign(partial, axisUpdate(runner.hyperparameters, axis, Number(value.toPrecision(3))));
  updateHyperparameters(runner.id, partial);
  views.race.refresh(app.race);
}

function raceFromUrl(url) {
  const race = app.race;
  const wanted = url.runner.filter((r) => race.spec(r.optimizer)).slice(0, MAX_RACE);
  if (!wanted.length) {
    for (const optimizerId of DEFAULT_RACE) {
      const spec = race.spec(optimizerId);
      if (spec) race.add(race.make(optimizerId, { lr: visibleLr(spec, app.surface) }, app.surface.default_start));
    }
  }
  for (const r of wanted) {
    const start = r.start && inside(r.start, app.surface) ? r.start : app.surface.default_start;
    const batch = app.surface.kind === "data" ? batchFromSize(r.batch) : FULL_BATCH;
    const lr = visibleLr(race.spec(r.optimizer), app.surface);
    race.add(race.make(r.optimizer, { lr, ...r.hyperparameters }, start, batch));
  }
  race.selected = Math.min(Math.max(url.sel, 0), race.runners.length - 1);
}

function createViews() {
  for (const chart of CHARTS) views[chart.id] = chart.create();
  useCharts(CHARTS);
  views.timeline = new Timeline(
    {
      range: $("timeline-range"),
      output: $("timeline-step"),
      live: $("timeline-live"),
      summary: $("readout-summary"),
      body: $("readout-body"),
    },
    {
      onCursor: () => {
        invalidate();
        slowTick();
        requestDraw();
      },
    },
  );
  views.breakdown = new Breakdown({ body: $("breakdown-body"), note: $("breakdown-note"), root: $("breakdown") });
  views.race = new RaceView(
    { list: $("runner-list"), count: $("race-count"), add: $("add-runner"), legend: $("race-legend") },
    {
      onSelect: selectRunner,
      onOptimizer: changeOptimizer,
      onHyperparameters: updateHyperparameters,
      onRemove: removeRunner,
      onDuplicate: duplicateRunner,
      onAdd: addNewRunner,
      onBatch: setBatch,
    },
  );
  views.dataParams = new DataParams(
    { root: $("data-params"), fields: $("data-param-fields"), error: $("data-params-error") },
    { onChange: chooseDataParams },
  );
  views.batchNoise = new BatchNoise({
    root: $("batch-noise"),
    body: $("batch-noise-body"),
    scaling: $("batch-noise-scaling"),
    window: $("batch-noise-window"),
  });
  views.surfaceControls = new SurfaceControls({ onSurface: chooseSurface, onCustom: chooseCustom });
  views.transport = new Transport({ onPlay: togglePlay, onStep: stepOnce, onReset: reset, onSpeed: setSpeed });
  views.basins = new BasinMap({
    onResult: (basins) => {
      renderBasinLegend(basins);
      views.paths.setBasins(basins);
      requestDraw();
    },
    onStatus: (text, kind) => {
      $("basins-status").textContent = text;
      $("basins-status").dataset.kind = kind || "";
    },
  });
}

function wireControls() {
  for (const tab of document.querySelectorAll(".stage .tab")) tab.addEventListener("click", () => setView(tab.dataset.view));
  for (const tab of document.querySelectorAll(".side-tab")) tab.addEventListener("click", () => setSideTab(tab.dataset.panel));
  $("basins-toggle").addEventListener("change", (event) => setBasins(event.target.checked));
  $("zoom-reset").addEventListener("click", () => views.contour.resetZoom());
  $("batch-compare").addEventListener("click", () => startComparison());
  $("samples-toggle").addEventListener("change", (event) => setSamples(event.target.checked));
  $("share").addEventListener("click", async () => {
    const link = shareUrl(urlState(), "race");
    try {
      await navigator.clipboard.writeText(link);
      toast(t("share.copied"), "info");
    } catch {
      toast(t("share.manual", { link }), "info");
    }
  });
  wireExport();
  wireKeys();
  const resize = new ResizeObserver(() => {
    if (!shown) return; // hidden: Plotly cannot size a hidden plot; showing it again resizes
    for (const chart of CHARTS) chart.resize?.(views[chart.id]);
  });
  for (const chart of CHARTS) for (const id of chart.boxes ?? []) resize.observe($(id));
}

function wireKeys() {
  document.addEventListener("keydown", (event) => {
    if (!shown) return; // other tabs have their own keys
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
    if (event.key === " ") {
      event.preventDefault();
      togglePlay();
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      stepOnce();
    } else if (event.key === "r" || event.key === "R") {
      event.preventDefault();
      reset();
    }
  });
  // A focused button would also be pressed by the space bar on key up: that press belongs to play/pause.
  document.addEventListener("keyup", (event) => {
    if (event.key === " " && event.target.closest?.("button")) event.preventDefault();
  });
}

/** A new language: every text the race drew itself, again. */
function relabel() {
  if (app.surface.id === CUSTOM) app.surface.name = t("surface.custom");
  renderAll();
  for (const chart of CHARTS) chart.reset?.(views[chart.id]);
  invalidate();
  syncUrl();
}

/** The catalogs, the race the URL describes and its views; false when the catalogs could not load. */
async function build(url) {
  onStatus("connecting");
  let surfaces;
  let optimizers;
  try {
    [surfaces, optimizers] = await Promise.all([api.getSurfaces(), api.getOptimizers()]);
  } catch (error) {
    showPlotError(error);
    return { ok: false };
  }
  for (const s of surfaces) app.surfaces.set(s.id, s);
  app.race = new Race(optimizers);
  app.speed = url.speed > 0 ? url.speed : 60;
  app.seed = url.seed;
  app.playing = url.play && !reducedMotion(); // with reduced motion, a race starts on Play only
  app.basins = url.basins;
  app.samples = url.samples;
  const grid = await restoreSurface(url); // a data problem's own data set comes with its grid
  raceFromUrl(url);
  createViews();
  wireControls();
  exposeHook();
  onLanguageChange(relabel);
  $("basins-toggle").checked = app.basins;
  setView(url.view);
  renderAll();
  return { ok: true, grid };
}

/** Draw the surface, then open the session. */
async function start(fetched) {
  const grid = fetched ?? fetchGrid();
  await plotlyReady();
  try {
    await loadGrid(grid);
  } catch (error) {
    if (app.surface.id !== CUSTOM) throw error;
    // A shared link whose expression no longer parses: say why next to the box, fall back to Rosenbrock.
    const expression = app.surface.expression;
    useSurface(app.surfaces.get("rosenbrock"));
    renderAll();
    expressionError(error, expression);
    await loadGrid();
  }
  connect();
  setInterval(slowTick, SLOW_TICK_MS);
  syncUrl();
}

/** Build the race from the URL (readUrl()) and start it; main.js calls this once, at boot. */
export function boot(url) {
  built = build(url);
  built
    .then(({ ok, grid }) => ok && start(grid))
    .catch((error) => showPlotError(error));
}

export async function show() {
  shown = true;
  const { ok } = await built.catch(() => ({ ok: false }));
  if (!ok || !shown) return;
  invalidate();
  requestDraw();
}

export function hide() {
  shown = false;
}
