import * as crypto from 'crypto';
import { jsonForScript, plotlyJsSource, plotlyJsVersion, scriptSafe } from './html';
import { notebookFigure } from './presets';
import type { PlotlyFigure } from './types';

/** The part of tslab's `display` used here (`require('tslab').display`). */
export interface HtmlDisplay {
  html(s: string): void;
}

let injected = false;
let displayOverride: HtmlDisplay | undefined;

/** Uses `d` instead of tslab's display (for tests or other kernels); `undefined` restores tslab's. */
export function setNotebookDisplay(d: HtmlDisplay | undefined): void {
  displayOverride = d;
}

/** Whether plotly.js has already been injected into this kernel session's notebook output. */
export function notebookPlotlyInjected(): boolean {
  return injected;
}

function getDisplay(): HtmlDisplay {
  if (displayOverride) return displayOverride;
  let tslab: { display: HtmlDisplay };
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    tslab = require('tslab') as { display: HtmlDisplay };
  } catch (err) {
    throw new Error(`showFigure needs the tslab package (npm install tslab): ${(err as Error).message}`);
  }
  return {
    html(s: string) {
      try {
        tslab.display.html(s);
      } catch (err) {
        throw new Error(`showFigure/initNotebookPlotly only work inside a tslab Jupyter kernel (${(err as Error).message}); use exportFigure() elsewhere`);
      }
    },
  };
}

/**
 * Injects plotly.js (from node_modules/plotly.js-dist, about 11 MB, no CDN) into the notebook as
 * one HTML output with an inline `<script>` that defines `window.Plotly` (skipped by the browser
 * if it is already defined). Called automatically by the first {@link showFigure} of a kernel
 * session; later calls do nothing unless `force` (e.g. after reloading the browser page without
 * restarting the kernel).
 */
export function initNotebookPlotly(opts: { force?: boolean } = {}): void {
  if (injected && !opts.force) return;
  getDisplay().html(plotlyLoaderHtml());
  injected = true;
}

/**
 * HTML that loads plotly.js (node_modules/plotly.js-dist, about 11 MB, offline) into the page: an
 * inline `<script>` defining `window.Plotly` unless it is defined, and a one-line note.
 */
export function plotlyLoaderHtml(): string {
  return (
    `<script type="text/javascript">\nif (typeof window.Plotly === 'undefined') {\n${scriptSafe(plotlyJsSource())}\n}\n</script>\n` +
    `<div style="font-size:11px;color:#888">plotly.js ${plotlyJsVersion()} loaded (offline, from node_modules)</div>\n`
  );
}

/**
 * HTML of a figure as one cell output (a cell's value, see notebook-display.ts): the plotly.js
 * loader first if this kernel session has not injected it yet, then {@link figureNotebookHtml}.
 */
export function figureOutputHtml(fig: PlotlyFigure, opts: ShowFigureOptions = {}): string {
  const loader = injected ? '' : plotlyLoaderHtml();
  injected = true;
  return loader + figureNotebookHtml(fig, opts);
}

export interface ShowFigureOptions {
  /** Height of the plot area in px (default: layout height, else 480). */
  height?: number;
  /** Width in px (default: layout width, else the cell width, responsive). */
  width?: number;
}

/**
 * HTML of one inline figure: a div plus a small script that draws it with
 * `window.Plotly.newPlot`. The script waits (polling up to 15 s) until both plotly.js is loaded and
 * the div is attached to the document (the classic notebook runs output scripts before inserting
 * the output), then shows a message in the div if plotly.js never appeared.
 */
export function figureNotebookHtml(given: PlotlyFigure, opts: ShowFigureOptions = {}): string {
  const id = `ws-plotly-${crypto.randomBytes(8).toString('hex')}`;
  // fits the output area: no fixed width unless asked (responsive), legend below the plot
  const fig = opts.width === undefined ? notebookFigure(given) : given;
  const lw = typeof fig.layout.width === 'number' ? fig.layout.width : undefined;
  const lh = typeof fig.layout.height === 'number' ? fig.layout.height : undefined;
  const width = opts.width ?? lw;
  const height = opts.height ?? lh ?? 480;
  const config = { responsive: width === undefined, displaylogo: false, ...(fig.config ?? {}) };
  const layout = { ...fig.layout, height, ...(width !== undefined ? { width } : {}) };
  return (
    `<div id="${id}" class="ws-plotly-figure" style="width:${width !== undefined ? `${width}px` : '100%'};height:${height}px;"></div>\n` +
    '<script type="text/javascript">\n' +
    '(function () {\n' +
    `  var id = ${JSON.stringify(id)};\n` +
    `  var fig = ${jsonForScript({ data: fig.data, layout, config })};\n` +
    '  var tries = 0;\n' +
    '  function attempt() {\n' +
    '    var el = document.getElementById(id);\n' +
    '    if (el && window.Plotly) { window.Plotly.newPlot(el, fig.data, fig.layout, fig.config); return; }\n' +
    '    if (++tries > 150) {\n' +
    "      if (el) el.innerHTML = '<pre style=\"color:#a00\">plotly.js is not loaded in this page: run initNotebookPlotly({ force: true }) or restart the kernel and run all cells.</pre>';\n" +
    '      return;\n' +
    '    }\n' +
    '    setTimeout(attempt, 100);\n' +
    '  }\n' +
    '  attempt();\n' +
    '})();\n' +
    '</script>'
  );
}

/**
 * Displays a Plotly figure inline in a tslab (TypeScript) Jupyter notebook, offline. The first call
 * in a kernel session injects plotly.js once ({@link initNotebookPlotly}); every figure output then
 * holds only a div and a small `Plotly.newPlot` script ({@link figureNotebookHtml}). Works in the
 * classic Notebook and in HTML exported by nbconvert (outputs run in document order).
 */
export function showFigure(fig: PlotlyFigure, opts: ShowFigureOptions = {}): void {
  initNotebookPlotly();
  getDisplay().html(figureNotebookHtml(fig, opts));
}
