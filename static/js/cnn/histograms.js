// The snapshots' histograms as numbers: each bins a tensor's entries on [−limit, limit] (app/cnn/measurements.py
// HISTOGRAM_BINS bins, limit a power of 2); rebin() puts one onto a wider limit, so columns of different
// snapshots share one y axis (views/histograms.js draws them). No DOM.

export const BINS = 41; // app/cnn/measurements.py HISTOGRAM_BINS

/** Counts on [−limit, limit] re-binned onto BINS bins of [−target, target] (target ≥ limit), as shares. */
export function rebin(histogram, target) {
  const out = new Array(BINS).fill(0);
  const total = histogram.counts.reduce((a, b) => a + b, 0);
  if (!total) return out;
  const width = (2 * histogram.limit) / BINS;
  const targetWidth = (2 * target) / BINS;
  histogram.counts.forEach((count, i) => {
    if (!count) return;
    const a = -histogram.limit + i * width;
    const b = a + width;
    const first = Math.max(0, Math.floor((a + target) / targetWidth));
    const last = Math.min(BINS - 1, Math.floor((b + target) / targetWidth - 1e-9));
    for (let j = first; j <= last; j += 1) {
      const lo = Math.max(a, -target + j * targetWidth);
      const hi = Math.min(b, -target + (j + 1) * targetWidth);
      if (hi > lo) out[j] += (count * (hi - lo)) / width / total;
    }
  });
  return out;
}
