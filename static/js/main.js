// Boot and wiring: read the URL, load the catalogs, build the views, open the socket, and route each
// person's action to a command and each server message to the model, the store and the views.
import * as api from "./api.js";
import { $, app, syncUrl, urlState, views } from "./app.js";
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
import { fmt, plotlyReady } from "./dom.js";
import { downloadCsv, downloadJson, downloadPng } from "./export.js";
import { exposeHook } from "./hook.js";
import { initialLanguage, setLanguage, t } from "./i18n.js";
import { onMessage } from "./messages.js";
import { batchFromSize, CUSTOM, DEFAULT_RACE, FULL_BATCH, inside, MAX_RACE, Race, visibleLr } from "./model.js";
import {
  invalidate,
  onStatus,
  renderAll,
  renderBasinLegend,
  requestDraw,
  showPlotError,
  SLOW_TICK_MS,
  slowTick,
  toast,
} from "./render.js";
import { Socket } from "./socket.js";
import { readUrl, shareUrl } from "./state.js";
import { currentTab, initTabs } from "./tabs.js";
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
import { axisUpdate, BasinMap, StabilityMap } from "./views/maps.js";
import { PathLayer } from "./views/paths.js";
import { RaceView } from "./views/race.js";
import { SurfaceView } from "./views/surface3d.js";
import { Timeline } from "./views/timeline.js";

const PAGE_BACKGROUND = "#0c131b";

function raceFromUrl(url) {
  const race = app.race;
  const wanted = url.runner.filter((r) => race.spec(r.optimizer)).slice(0, MAX_RACE);
  if (!wanted.length) {
    for (const optimizerId of DEFAULT_RACE) {
      if (race.spec(optimizerId)) race.add(race.make(optimizerId, { lr: visibleLr(optimizerId, app.surface) }, app.surface.default_start));
    }
  }
  for (const r of wanted) {
    const start = r.start && inside(r.start, app.surface) ? r.start : app.surface.default_start;
    const batch = app.surface.kind === "data" ? batchFromSize(r.batch) : FULL_BATCH;
    race.add(race.make(r.optimizer, { lr: visibleLr(r.optimizer, app.surface), ...r.hyperparameters }, start, batch));
  }
  race.selected = Math.min(Math.max(url.sel, 0), race.runners.length - 1);
}

function createViews() {
  views.contour = new ContourView($("contour"), {
    onClick: (x, y, shift) => setStart(x, y, shift),
    onPointer: (point) => {
      const node = $("cursor-readout");
      node.hidden = !point;
      if (point) {
        const j = views.contour.valueAt(...point);
        node.textContent = t("plot.cursor", { x: fmt(point[0], 3), y: fmt(point[1], 3), j: fmt(j, 4) });
      }
    },
    onLayout: () => {
      const div = $("contour");
      views.paths.resize(div.clientWidth, div.clientHeight);
      requestDraw();
    },
  });
  views.paths = new PathLayer({ halo: $("overlay-halo"), lines: $("overlay-lines"), top: $("overlay") });
  views.surface3d = new SurfaceView($("surface3d"));
  views.loss = new LossChart($("loss-chart"), {
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
  });
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
  createDataViews();
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
  views.stability = new StabilityMap(
    { chart: $("stability-chart"), legend: $("stability-legend"), status: $("stability-status") },
    {
      onPick: (lr, axis, value) => {
        const runner = app.race.current;
        if (!runner) return;
        const partial = { lr: Number(lr.toPrecision(3)) };
        if (axis && value !== null) Object.assign(partial, axisUpdate(runner.hyperparameters, axis, Number(value.toPrecision(3))));
        updateHyperparameters(runner.id, partial);
        views.race.refresh(app.race);
      },
    },
  );
}

/** Data problems: the data set's parameters, its scatter plot, and the batch noise of the selected runner. */
function createDataViews() {
  views.dataParams = new DataParams(
    { root: $("data-params"), fields: $("data-param-fields"), error: $("data-params-error") },
    { onChange: chooseDataParams },
  );
  views.scatter = new ScatterView({ chart: $("data-chart"), overlay: $("data-overlay"), hint: $("data-hint"), count: $("data-count") });
  views.batchNoise = new BatchNoise({
    root: $("batch-noise"),
    body: $("batch-noise-body"),
    scaling: $("batch-noise-scaling"),
    window: $("batch-noise-window"),
  });
  $("batch-compare").addEventListener("click", () => startComparison());
  $("samples-toggle").addEventListener("change", (event) => setSamples(event.target.checked));
}

function wireControls() {
  for (const tab of document.querySelectorAll(".stage .tab")) tab.addEventListener("click", () => setView(tab.dataset.view));
  for (const tab of document.querySelectorAll(".side-tab")) tab.addEventListener("click", () => setSideTab(tab.dataset.panel));
  $("basins-toggle").addEventListener("change", (event) => setBasins(event.target.checked));
  $("zoom-reset").addEventListener("click", () => views.contour.resetZoom());
  for (const button of document.querySelectorAll(".lang-btn")) {
    button.addEventListener("click", () => switchLanguage(button.dataset.lang));
  }
  $("share").addEventListener("click", async () => {
    const link = shareUrl(urlState());
    try {
      await navigator.clipboard.writeText(link);
      toast(t("share.copied"), "info");
    } catch {
      toast(t("share.manual", { link }), "info");
    }
  });
  const menu = $("export-list");
  const toggle = $("export-toggle");
  const closeMenu = () => {
    menu.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
  };
  toggle.addEventListener("click", (event) => {
    event.stopPropagation();
    menu.hidden = !menu.hidden;
    toggle.setAttribute("aria-expanded", String(!menu.hidden));
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest("#export-menu")) closeMenu();
  });
  $("export-csv").addEventListener("click", () => {
    closeMenu();
    downloadCsv(app.race, app.store);
  });
  $("export-json").addEventListener("click", () => {
    closeMenu();
    downloadJson(app.race, app.store, app.surfaceRef, app.seed);
  });
  $("export-png").addEventListener("click", () => {
    closeMenu();
    const png =
      app.view === "contour"
        ? downloadPng($("contour"), [...$("overlays").querySelectorAll("canvas")], PAGE_BACKGROUND)
        : downloadPng($("surface3d"), [], PAGE_BACKGROUND);
    png.catch((error) => toast(error.message, "error"));
  });

  document.addEventListener("keydown", (event) => {
    if (currentTab() !== "surfaces") return; // other tabs have their own keys
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

  const resize = new ResizeObserver(() => {
    if (currentTab() !== "surfaces") return; // hidden: Plotly cannot size a hidden plot; showing it again resizes
    views.contour.resize();
    views.surface3d.resize();
    views.loss.resize();
    views.stability.resize();
    views.scatter.resize();
  });
  for (const id of ["plot-wrap", "loss-chart", "stability-chart", "data-chart"]) resize.observe($(id));
}

async function switchLanguage(lang) {
  await setLanguage(lang);
  if (app.surface.id === CUSTOM) app.surface.name = t("surface.custom");
  renderAll();
  views.contour.relabel();
  views.loss.relabel();
  views.loss.restyle(app.race);
  views.stability.relabel();
  views.scatter.relabel();
  views.surface3d.markStale();
  invalidate();
  syncUrl();
}

async function boot() {
  const url = readUrl();
  await setLanguage(initialLanguage(url.lang));
  onStatus("connecting");
  let surfaces;
  let optimizers;
  try {
    [surfaces, optimizers] = await Promise.all([api.getSurfaces(), api.getOptimizers()]);
  } catch (error) {
    showPlotError(error);
    return;
  }
  for (const s of surfaces) app.surfaces.set(s.id, s);
  app.race = new Race(optimizers);
  app.speed = url.speed > 0 ? url.speed : 60;
  app.seed = url.seed;
  app.playing = url.play;
  app.basins = url.basins;
  app.samples = url.samples;
  const fetched = await restoreSurface(url); // a data problem's own data set comes with its grid
  raceFromUrl(url);
  createViews();
  wireControls();
  exposeHook();
  $("basins-toggle").checked = app.basins;
  setView(url.view);
  renderAll();
  initTabs(url.tab, {
    onShow: (tab) => {
      if (tab !== "surfaces") return;
      invalidate();
      requestDraw();
    },
    onError: (error) => toast(error.message, "error"),
  });
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
  app.socket = new Socket(Socket.forPage(), { onMessage, onStatus });
  app.socket.connect();
  setInterval(slowTick, SLOW_TICK_MS);
  syncUrl();
}

boot().catch((error) => showPlotError(error));
