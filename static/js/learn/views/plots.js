// What the lessons' small charts share: Plotly once it has loaded, the page's plot theme, and drawing
// only into a chart that is on screen (Plotly cannot size a hidden one; a lesson redraws when shown).
import { axis, baseLayout, PLOTLY_CONFIG, plotlyReady } from "../../plotly.js";

export const COLORS = Object.freeze({ curve: "#8da8c2", tangent: "#ffb547", point: "#5ac8fa", next: "#3ddc97", target: "#f25f9c" });
export const VERDICT_COLORS = Object.freeze({ crawls: "#ffd23f", converges: "#3ddc97", overshoots: "#7fd6c2", oscillates: "#ff8c42", diverges: "#ff6b6b" });

const visible = (div) => div.offsetParent !== null && div.clientWidth > 0;

/** Plotly.react into div when it is on screen; false when it is not (draw again when it is shown). */
export async function plot(div, data, layout) {
  if (!visible(div)) return false;
  await plotlyReady();
  await window.Plotly.react(div, data, layout, { ...PLOTLY_CONFIG, responsive: false });
  return true;
}

export function resize(div) {
  if (visible(div) && div.data) window.Plotly.Plots.resize(div);
}

export function layout(xTitle, yTitle, extra = {}) {
  return {
    ...baseLayout({ l: 44, r: 10, t: 8, b: 34 }),
    xaxis: axis(xTitle),
    yaxis: axis(yTitle),
    ...extra,
  };
}

export { axis };
