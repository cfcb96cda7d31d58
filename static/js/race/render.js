// Drawing: the charts of page.js's table (each at its pace: every animation frame, or at the chart tick), the
// numbers at their own slower pace, the cards, legends and maps. Reads the model; changes none of it.
import { announce } from "../announce.js";
import { $, el, fmt } from "../dom.js";
import { visibleLr } from "../hyperparameters.js";
import { t, tOr } from "../i18n.js";
import { toast } from "../toast.js";
import { app, dataSize, isData, maxRunners, views } from "./state.js";
import { BASIN_COLORS, BASIN_DIVERGED, BASIN_ELSEWHERE } from "./views/paths.js";

export const SLOW_TICK_MS = 120; // timeline, breakdown and card status: at most ~8 updates a second

const CHART_TICK_MS = 250; // the Plotly charts: one call each, at most 4 a second

let charts = []; // page.js's table: {id, frame?(view, scene), tick?(view) → promise, …}

/** The charts to draw, each with its view in views[id] (page.js builds both). */
export function useCharts(table) {
  charts = table;
}

let frameRequested = false;

export function requestDraw() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(drawFrame);
}

/** The canvases: paths over the contour, models over the data; at the timeline's cursor unless live. */
function drawFrame() {
  frameRequested = false;
  const track = app.race.current && app.store.tracks.get(app.race.current.id);
  const step = track ? views.timeline.shownStep(track) : null;
  const cursor = views.timeline.live || step === null ? null : { step };
  for (const chart of charts) chart.frame?.(views[chart.id], { cursor });
}

/** Something other than new steps changed what the slower views show: redraw them at the next tick. */
export function invalidate() {
  app.drawn.tick = -1;
  app.drawn.charts = -1;
}

let chartsAt = 0;

/**
 * The slower views, only when the store or the selection changed: the numbers (timeline, breakdown,
 * cards) at most every SLOW_TICK_MS, the Plotly charts (one call each) at most every CHART_TICK_MS.
 */
export function slowTick() {
  if (!app.race) return;
  const version = app.store.version;
  if (version !== app.drawn.store || app.drawn.tick === -1) {
    app.drawn.store = version;
    app.drawn.tick = version;
    views.timeline.render(app.race, app.store, isData() ? dataSize() : 0);
    const track = app.race.current && app.store.tracks.get(app.race.current.id);
    const step = track ? views.timeline.shownStep(track) : null;
    views.breakdown.render(app.race, app.store, step);
    views.batchNoise.render(app.race, app.store, step, isData() ? dataSize() : 0);
    views.race.status(app.race, app.store);
    $("details-runner").textContent = app.race.current ? t("race.number", { n: app.race.selected + 1 }) : "";
    $("details-runner").style.setProperty("--runner", app.race.current?.color ?? "transparent");
  }
  if (app.drawn.charts !== version && performance.now() - chartsAt >= CHART_TICK_MS) {
    chartsAt = performance.now();
    app.drawn.charts = version;
    updateCharts();
  }
}

/** One Plotly call per chart. They draw synchronously; a failure is shown, and the next tick tries again. */
function updateCharts() {
  for (const chart of charts) {
    chart.tick?.(views[chart.id])?.catch((error) => {
      app.drawn.charts = -1;
      toast(error.message, "error");
    });
  }
}

/** The maps follow the selected runner; each is computed only while it is shown. */
export function updateMaps() {
  const runner = app.race.current;
  if (!runner || !app.grid) return;
  if (app.basins) views.basins.update(app.surfaceRef, runner);
  if (app.sideTab === "stability") {
    const base = visibleLr(app.race.spec(runner.optimizer), app.surface);
    views.stability.update(app.surfaceRef, runner, base, app.surface.hessian ?? null);
  }
}

export function renderRace() {
  views.race.render(app.race, maxRunners(), isData() ? dataSize() : 0);
  views.race.status(app.race, app.store);
  invalidate();
}

/** What only a data problem shows: its parameters, its data, batches, the sample cloud, full-batch loss. */
function renderDataParts() {
  const data = isData();
  document.body.dataset.problem = data ? "data" : "function";
  views.dataParams.render(app.surface);
  $("data-card").hidden = !data;
  if (data) views.scatter.resize();
  $("loss-title").textContent = t(data ? "loss.title_data" : "loss.title");
  $("loss-title").title = data ? t("loss.title_data_title") : "";
  $("readout-col-x").textContent = tOr(`details.col_x.${app.surface.id}`, t("details.col_x"));
  $("readout-col-y").textContent = tOr(`details.col_y.${app.surface.id}`, t("details.col_y"));
  $("samples-toggle").checked = app.samples;
  document.body.dataset.samples = app.samples ? "on" : "off";
}

export function renderAll() {
  views.surfaceControls.render(app.surfaces, app.surface);
  renderDataParts();
  views.transport.render({ playing: app.playing, speed: app.speed, maxSpeed: app.limits.max_speed });
  renderRace();
  onStatus(app.connection);
  requestDraw();
}

export function renderBasinLegend(basins) {
  const legend = $("basin-legend");
  legend.hidden = !basins;
  if (!basins) return;
  const chip = (color, text) =>
    el("span", { className: "legend-item" }, [
      el("span", { className: "legend-swatch", attrs: { style: `background:${color}` } }),
      el("span", { text }),
    ]);
  legend.replaceChildren(
    el("span", {
      className: "legend-title",
      text: t("basins.legend", { optimizer: tOr(`optimizer.${basins.optimizer}.short`, basins.optimizer) }),
    }),
    ...basins.minima.map((m, i) =>
      chip(BASIN_COLORS[i % BASIN_COLORS.length], t("basins.minimum", { n: i + 1, x: fmt(m[0], 3), y: fmt(m[1], 3) })),
    ),
    chip(BASIN_ELSEWHERE, t("basins.elsewhere")),
    chip(BASIN_DIVERGED, t("basins.diverged")),
  );
}

export function showPlotError(error) {
  const node = $("plot-message");
  node.hidden = false;
  node.textContent = t("plot.error", { message: error.message });
}

export function onStatus(status) {
  app.connection = status;
  document.body.dataset.connection = status;
  $("connection-text").textContent = t(`connection.${status}`);
  if (status !== "live") announce(t(`connection.${status}`));
}
