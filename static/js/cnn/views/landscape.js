// The loss-landscape panel of the CNN tab (Li et al. 2018, live): ask the server for the loss on a plane
// through the current weights θ* (PCA of the training path, or filter-normalized random directions), follow
// the job as it streams (plane, coarse picture, 1-D line, rows), show its progress, cancel or re-centre it.
// Training goes on meanwhile. The request and its job: the server numbers jobs 1, 2, … per session; the
// panel counts the requests the server took (the cnn_state answering each) to know its job even before the
// plane arrives (a job can fail or be cancelled before it), and the plane's ref confirms it.
import { announce } from "../../announce.js";
import { el, fmt } from "../../dom.js";
import { t } from "../../i18n.js";
import { Landscape } from "../landscape-data.js";
import { CNN_CLIENT, CNN_SERVER } from "../messages.js";
import { LineView, PlaneView, pct } from "./landscape-plots.js";

export const GRID_SIZES = Object.freeze([21, 31, 41, 51]); // points per side (the server takes 5..51)
const MAX_SEED = 2 ** 32 - 1;
const ACTIVE = new Set(["waiting", "computing", "cancelling"]);

// Error codes the server answers a landscape request with, in the page's words.
const ERRORS = { too_early: "cnn.landscape.error_too_early" };
const STATUS_TEXT = {
  waiting: "cnn.landscape.status_waiting",
  computing: "cnn.landscape.status_computing",
  cancelling: "cnn.landscape.status_cancelling",
  done: "cnn.landscape.status_done",
  cancelled: "cnn.landscape.status_cancelled",
  failed: "cnn.landscape.status_failed",
  stopped: "cnn.landscape.status_stopped",
  refused: "cnn.landscape.status_refused",
  offline: "cnn.landscape.status_offline",
};

const normalSeed = (value) => Math.min(Math.max(Math.trunc(Number(value)) || 0, 0), MAX_SEED);

export class LandscapePanel {
  /** @param {{send: (type: string, fields: object) => string|null}} options send returns the ref, or null offline */
  constructor({ send }) {
    const $ = (id) => document.getElementById(id);
    this.send = send;
    this.nodes = {
      plane: $("cnn-landscape-plane"),
      seedBox: $("cnn-landscape-seed-box"),
      seed: $("cnn-landscape-seed"),
      n: $("cnn-landscape-n"),
      compute: $("cnn-landscape-compute"),
      cancel: $("cnn-landscape-cancel"),
      view: $("cnn-landscape-view"),
      bar: $("cnn-landscape-progress"),
      fill: $("cnn-landscape-fill"),
      percent: $("cnn-landscape-percent"),
      status: $("cnn-landscape-status"),
      note: $("cnn-landscape-note"),
      where: $("cnn-landscape-where"),
      body: $("cnn-landscape-body"),
    };
    this.plot = new PlaneView($("cnn-landscape-plot"));
    this.line = new LineView($("cnn-landscape-line"));
    this.choice = { plane: "pca", n: 31, seed: 0 };
    this.view = "contour";
    this.jobs = 0; // the server's job counter, mirrored
    this.request = null; // {ref, job, plane, n, seed, sentAt, status, progress, seconds, message}
    this.land = null; // the landscape shown (the last one whose plane arrived)
    this.outdated = false; // the weights it was drawn through were replaced (reset, new network)
    this.step = 0; // the training's step now
    this.noteKey = null;
    this.wire();
    this.renderControls();
  }

  wire() {
    const n = this.nodes;
    this.fillGrid();
    n.plane.addEventListener("click", (event) => {
      const button = event.target.closest("[data-plane]");
      if (!button) return;
      this.choice.plane = button.dataset.plane;
      this.renderControls();
    });
    n.view.addEventListener("click", (event) => {
      const button = event.target.closest("[data-view]");
      if (!button) return;
      this.view = button.dataset.view;
      this.renderControls();
      this.draw(this.step);
    });
    n.seed.addEventListener("change", () => {
      this.choice.seed = normalSeed(n.seed.value);
      n.seed.value = String(this.choice.seed);
    });
    n.n.addEventListener("change", () => {
      this.choice.n = Number(n.n.value);
    });
    n.compute.addEventListener("click", () => this.compute());
    n.cancel.addEventListener("click", () => this.cancel());
  }

  get active() {
    return this.request !== null && ACTIVE.has(this.request.status);
  }

  // --- what a person does ---------------------------------------------------------------------------

  /** Compute (again) through the current weights with the chosen plane; any landscape computing is replaced. */
  compute() {
    const { plane, n, seed } = this.choice;
    const fields = plane === "random" ? { plane, n, seed } : { plane, n };
    const ref = this.send(CNN_CLIENT.LANDSCAPE, fields);
    this.request = { ref, job: null, plane, n, seed, sentAt: performance.now(), status: ref ? "waiting" : "offline", progress: 0, seconds: null, code: null, message: null };
    this.render();
  }

  cancel() {
    if (!this.active) return;
    this.send(CNN_CLIENT.LANDSCAPE_CANCEL);
    this.request.status = "cancelling";
    this.render();
  }

  /** The "Use PCA" of the random plane's warning: switch and compute at once. */
  usePlane(plane) {
    this.choice.plane = plane;
    this.renderControls();
    this.compute();
  }

  // --- what the server says -------------------------------------------------------------------------

  /** A cnn_state: the answer to a landscape request (the server took it: a job), or new weights. */
  onState(state, fresh) {
    const r = this.request;
    if (r && state.ref !== null && state.ref === r.ref && state.cause === CNN_CLIENT.LANDSCAPE) {
      this.jobs += 1;
      r.job = this.jobs;
    }
    this.step = state.step;
    if (fresh && this.land) this.outdated = true;
  }

  /** A hello: a new server session numbers its jobs from 1 again; a landscape computing has stopped. */
  onHello(hello) {
    if (!hello.resumed) this.jobs = 0;
    this.interrupted();
  }

  /** The socket dropped: the server stops the job (its rows would go nowhere). */
  interrupted() {
    if (!this.active) return;
    this.request.status = "stopped";
    this.request.job = null; // whatever of it still arrives is not drawn
    this.request.seconds = (performance.now() - this.request.sentAt) / 1000;
    this.render();
  }

  /** An error frame: true when it answers this panel's request (shown here, not as a toast). */
  onError(error, ref) {
    const r = this.request;
    if (!r || ref === null || ref === undefined || ref !== r.ref) return false;
    r.status = "refused";
    r.code = error.code;
    r.message = error.message; // the server's words, for a code the page has none of its own for
    this.render();
    return true;
  }

  onMessage(message) {
    const r = this.request;
    if (message.job > this.jobs) this.jobs = message.job;
    if (message.type === CNN_SERVER.LANDSCAPE_PLANE) {
      if (!r || message.ref !== r.ref || !ACTIVE.has(r.status)) return;
      r.job = message.job;
      if (r.status === "waiting") r.status = "computing";
      this.land = new Landscape(message);
      this.outdated = false;
      this.plot.invalidate();
      this.line.invalidate();
      return;
    }
    if (message.type === CNN_SERVER.LANDSCAPE_POINT) {
      // the training's weights now, on the plane shown (its job done or not)
      if (this.land && message.job === this.land.job && !this.outdated) this.land.setCurrent(message);
      return;
    }
    if (!r || message.job !== r.job || !ACTIVE.has(r.status)) return; // an old job's, or one stopped here
    const land = this.land && this.land.job === message.job ? this.land : null;
    switch (message.type) {
      case CNN_SERVER.LANDSCAPE_COARSE:
        land?.addCoarse(message);
        r.progress = message.progress;
        break;
      case CNN_SERVER.LANDSCAPE_LINE:
        land?.addLine(message);
        break;
      case CNN_SERVER.LANDSCAPE_ROW:
        land?.addRow(message);
        r.progress = message.progress;
        break;
      case CNN_SERVER.LANDSCAPE_DONE:
        r.status = message.status;
        r.seconds = message.seconds;
        r.message = message.message;
        this.render(); // at once: the buttons change
        break;
      default:
        break;
    }
  }

  // --- drawing --------------------------------------------------------------------------------------

  /** Every tick while the tab is shown: the numbers, and the plots when the landscape changed. */
  draw(step = this.step) {
    this.step = step;
    this.render();
    const land = this.land;
    if (!land || !land.coarse) return null;
    const computing = this.active && this.request.job === land.job;
    return Promise.all([this.plot.draw(land, this.view, computing), this.line.draw(land)]);
  }

  /** Redraw everything from scratch at the next draw (language, visibility). */
  invalidate() {
    this.plot.invalidate();
    this.line.invalidate();
    this.noteKey = null;
    this.fillGrid();
    this.renderControls();
  }

  fillGrid() {
    this.nodes.n.replaceChildren(...GRID_SIZES.map((size) => el("option", { text: t("cnn.landscape.grid_value", { n: size }), attrs: { value: String(size) } })));
  }

  resize() {
    this.plot.resize();
    this.line.resize();
  }

  renderControls() {
    const n = this.nodes;
    for (const button of n.plane.querySelectorAll("[data-plane]")) button.setAttribute("aria-pressed", String(button.dataset.plane === this.choice.plane));
    for (const button of n.view.querySelectorAll("[data-view]")) button.setAttribute("aria-pressed", String(button.dataset.view === this.view));
    n.seedBox.hidden = this.choice.plane !== "random";
    if (document.activeElement !== n.seed) n.seed.value = String(this.choice.seed);
    n.n.value = String(this.choice.n);
    this.render();
  }

  render() {
    const n = this.nodes;
    const r = this.request;
    const active = this.active;
    const again = this.land !== null || (r !== null && !active);
    n.compute.textContent = t(this.land ? "cnn.landscape.recentre" : again ? "cnn.landscape.again" : "cnn.landscape.compute");
    n.compute.title = t(this.land ? "cnn.landscape.recentre_title" : "cnn.landscape.compute_title");
    n.cancel.hidden = !active;
    n.cancel.disabled = r?.status === "cancelling";
    n.view.hidden = !this.land;
    n.body.hidden = !this.land;

    const progress = r?.progress ?? 0;
    const percent = Math.floor(100 * progress);
    n.bar.hidden = r === null;
    n.fill.style.width = `${100 * progress}%`;
    n.bar.setAttribute("aria-valuenow", String(percent));
    n.bar.dataset.status = r?.status ?? "idle";
    n.percent.textContent = r ? t("cnn.landscape.percent", { p: percent }) : "";
    const seconds = r ? (r.seconds ?? (performance.now() - r.sentAt) / 1000) : 0;
    const status = r
      ? t(STATUS_TEXT[r.status], { seconds: fmt(seconds, 2), n: r.n, message: r.message ?? "" })
      : t("cnn.landscape.status_idle");
    if (n.status.textContent !== status) n.status.textContent = status;
    // Its seconds tick while it computes: a screen reader hears each change of state once, not every tick.
    if (r && r.status !== this.heard && r.status !== "computing") announce(status);
    this.heard = r?.status;
    n.status.dataset.status = r?.status ?? "idle";
    this.renderNote();
  }

  /** The caption under the progress bar: a refusal, the random plane's warning, or what the plane is; and
   * how far the training has moved on from θ* (or that its weights were replaced). */
  renderNote() {
    const r = this.request;
    const land = this.land;
    let where = "";
    if (land && this.outdated) where = t("cnn.landscape.outdated");
    else if (land && this.step > land.info.center_step) {
      where = t("cnn.landscape.moved_on", { step: land.info.center_step, now: this.step });
      const c = land.current;
      if (c) {
        const inside = c.alpha >= land.alphas[0] && c.alpha <= land.alphas[land.n - 1] && c.beta >= land.betas[0] && c.beta <= land.betas[land.n - 1];
        const at = { step: c.step, alpha: fmt(c.alpha, 3), beta: fmt(c.beta, 3) };
        where += ` ${t(inside ? "cnn.landscape.current_at" : "cnn.landscape.current_outside", at)}`;
      }
    }
    if (this.nodes.where.textContent !== where) this.nodes.where.textContent = where;
    this.nodes.where.dataset.kind = this.outdated ? "outdated" : "moved";
    // Rebuilt only when it changes: its buttons must outlive a click.
    const key = [r?.status, r?.message, land?.job].join("|");
    if (key === this.noteKey) return;
    this.noteKey = key;
    const parts = [];
    if (r?.status === "refused") {
      const fix = r.code === "too_early" ? this.button("cnn.landscape.use_random", () => this.usePlane("random")) : null;
      const text = ERRORS[r.code] ? t(ERRORS[r.code]) : r.message;
      parts.push(el("p", { className: "cnn-landscape-error", attrs: { role: "alert" } }, [el("span", { text }), fix]));
    }
    if (land) {
      const info = land.info;
      if (info.kind === "pca") {
        const [r1, r2] = info.explained_variance_ratio;
        parts.push(el("p", { className: "cnn-landscape-caption", text: t("cnn.landscape.pca_caption", { pc1: pct(r1), pc2: pct(r2), snapshots: land.snapshots, step: info.center_step }) }));
      } else {
        const share = land.pathShare;
        parts.push(
          el("p", { className: "cnn-landscape-warning", attrs: { role: "note" } }, [
            el("span", { text: t("cnn.landscape.random_warning", { seed: info.seed, parameters: land.parameters.toLocaleString("en-US"), share: share === null ? t("num.none") : pct(share) }) }),
            this.button("cnn.landscape.use_pca", () => this.usePlane("pca")),
          ]),
        );
      }
    } else if (!r) {
      parts.push(el("p", { className: "hint", text: t("cnn.landscape.intro") }));
    }
    this.nodes.note.replaceChildren(...parts);
  }

  button(key, onClick) {
    const button = el("button", { className: "btn btn-small", text: t(key), attrs: { type: "button" } });
    button.addEventListener("click", onClick);
    return button;
  }

  /** Read by tests: the request's progress and the landscape shown. */
  summary() {
    const r = this.request;
    const land = this.land;
    return {
      status: r?.status ?? "idle",
      progress: r?.progress ?? 0,
      job: r?.job ?? null,
      n: land?.n ?? null,
      rows: land?.rows ?? 0,
      kind: land?.info.kind ?? null,
      pathPoints: land?.info.path.steps.length ?? 0,
      line: land?.line ? land.line.t.length : 0,
      current: land?.current ? { ...land.current } : null,
    };
  }
}
