// Drawing: the canvas on every animation frame, the numbers and the Plotly charts at their own slower
// pace, the cards, legends, maps and toasts. Reads the model; changes none of it.
import { $, app, dataSize, isData, lossIsPositive, maxRunners, views } from "./app.js";
import { el, fmt } from "./dom.js";
import { language, t, tOr } from "./i18n.js";
import { BASIN_COLORS, BASIN_DIVERGED, BASIN_ELSEWHERE } from "./views/paths.js";

export const SLOW_TICK_MS = 120; // timeline, breakdown and card status: at most ~8 updates a second

const CHART_TICK_MS = 250; // loss chart and 3-D view: one Plotly call each, at most 4 a second

let frameRequested = false;

export function requestDraw() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(drawFrame);
}

function drawFrame() {
  frameRequested = false;
  const track = app.race.current && app.store.tracks.get(app.race.current.id);
  const step = track ? views.timeline.shownStep(track) : null;
  const cursor = views.timeline.live || step === null ? null : { step };
  if (isData()) views.scatter.draw(app.race, app.store, cursor ? cursor.step : null);
  if (app.view !== "contour") return;
  views.paths.draw({
    map: views.contour.mapping(),
    race: app.race,
    store: app.store,
    cursor,
    hover: app.hover,
    samples: app.samples && isData(),
  });
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
export function updateCharts() {
  const positive = lossIsPositive();
  const shown = (promise) =>
    promise?.catch((error) => {
      app.drawn.charts = -1;
      toast(error.message, "error");
    });
  shown(views.loss.update(app.race, app.store, positive, isData()));
  $("loss-axis-note").textContent = positive ? t("loss.log_note") : "";
  shown(views.surface3d.update(app.race, app.store));
}

/** The maps follow the selected runner; each is computed only while it is shown. */
export function updateMaps() {
  const runner = app.race.current;
  if (!runner || !app.grid) return;
  if (app.basins) views.basins.update(app.surfaceRef, runner);
  if (app.sideTab === "stability") views.stability.update(app.surfaceRef, app.surface, runner);
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
  for (const button of document.querySelectorAll(".lang-btn")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === language()));
  }
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

export function toast(text, kind = "info") {
  const box = $("toasts");
  const node = el("div", { className: `toast toast-${kind}`, text, attrs: { role: kind === "error" ? "alert" : "status" } });
  box.append(node);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => node.remove(), kind === "error" ? 8000 : 5000);
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
}
