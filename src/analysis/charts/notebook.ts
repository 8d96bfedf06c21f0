import * as crypto from 'crypto';
import { compressedPlotlyLoaderHtml, jsonForScript } from './html';
import { escapeHtml } from './html';
import { figureCaption, notebookFigure, notebookLegendHeight } from './presets';
import { STATIC_WIDTH, staticFigurePng } from './static';
import type { PlotlyFigure } from './types';

/** A MIME bundle: MIME type -> data (base64 for images). */
export type MimeBundle = Record<string, string>;

/** The part of tslab's `display` used here (`require('tslab').display`); `bundle` sends several MIME types as one output. */
export interface HtmlDisplay {
  html(s: string): void;
  bundle?(data: MimeBundle): void;
}

/**
 * Sends `data` as one display_data output (several MIME types, which tslab's `display` cannot: it
 * sends one per output), through tslab's Jupyter connection; with `displayId`, the output can be
 * replaced later (`update`: update_display_data). Throws outside a tslab kernel.
 */
export function sendBundle(data: MimeBundle, displayId?: string, update = false): void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData?: ((d: unknown, update: boolean) => void) | null };
  if (typeof jupyter.lastWriteDisplayData !== 'function') throw new Error('not inside a running tslab kernel cell');
  jupyter.lastWriteDisplayData({ data, metadata: {}, transient: displayId ? { display_id: displayId } : {} }, update);
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
  const outside = (err: unknown) => new Error(`showFigure/initNotebookPlotly only work inside a tslab Jupyter kernel (${(err as Error).message}); use exportFigure() elsewhere`);
  return {
    html(s: string) {
      try {
        tslab.display.html(s);
      } catch (err) {
        throw outside(err);
      }
    },
    bundle(data: MimeBundle) {
      try {
        sendBundle(data);
      } catch (err) {
        throw outside(err);
      }
    },
  };
}

/**
 * Injects plotly.js (minified, gzip-compressed: about 1.9 MB of output, no CDN) into the notebook
 * as one HTML output whose script defines `window.Plotly` (skipped by the browser if it is already
 * defined). Called automatically by the first {@link showFigure} of a kernel session; later calls
 * do nothing unless `force` (e.g. after reloading the browser page without restarting the kernel).
 */
export function initNotebookPlotly(opts: { force?: boolean } = {}): void {
  if (injected && !opts.force) return;
  getDisplay().html(plotlyLoaderHtml());
  injected = true;
}

/** HTML that loads plotly.js into the page offline (html.ts {@link compressedPlotlyLoaderHtml}). */
export function plotlyLoaderHtml(): string {
  return compressedPlotlyLoaderHtml();
}

/**
 * MIME bundle of a figure as one cell output (a cell's value, see notebook-display.ts):
 * {@link figureBundle}, its HTML preceded by the plotly.js loader if this kernel session has not
 * injected it yet.
 */
export function figureOutputBundle(fig: PlotlyFigure, opts: ShowFigureOptions = {}): MimeBundle {
  const loader = injected ? '' : plotlyLoaderHtml();
  injected = true;
  const bundle = figureBundle(fig, opts);
  return { ...bundle, 'text/html': loader + bundle['text/html'] };
}

export interface ShowFigureOptions {
  /** Height of the plot area in px (default: layout height, else 480). */
  height?: number;
  /** Width in px (default: layout width, else the cell width, responsive). */
  width?: number;
  /**
   * Static picture shown until plotly.js draws the chart (and instead of it where scripts do not
   * run: an untrusted notebook, GitHub, nbviewer): a base64 PNG, or false for none. Default in
   * {@link figureBundle} / {@link showFigure}: rendered by headless Chromium ({@link staticFigurePng}).
   */
  staticPng?: string | false;
}

/** The figure as drawn in a notebook output and its size (px; width undefined: the cell's width). */
function outputFigure(given: PlotlyFigure, opts: ShowFigureOptions): { fig: PlotlyFigure; width?: number; height: number } {
  // fits the output area: no fixed width unless asked (responsive), legend below the plot
  const fig = opts.width === undefined ? notebookFigure(given) : given;
  const lw = typeof fig.layout.width === 'number' ? fig.layout.width : undefined;
  const lh = typeof fig.layout.height === 'number' ? fig.layout.height : undefined;
  // the legend below the plot grows the output, not shrinks the plot
  const legend = opts.width === undefined ? notebookLegendHeight(given) : 0;
  return { fig, width: opts.width ?? lw, height: (opts.height ?? lh ?? 480) + legend };
}

/**
 * The MIME bundle of a figure as one notebook output: text/html (the interactive chart, with the
 * static PNG inside it until plotly.js draws), image/png (the same PNG, for front ends that show a
 * static type when the HTML is untrusted, e.g. JupyterLab, VS Code, GitHub) and text/plain (a
 * summary). The PNG is rendered by headless Chromium at the chart's size ({@link staticFigurePng});
 * without it the bundle has no image.
 */
export function figureBundle(given: PlotlyFigure, opts: ShowFigureOptions = {}): MimeBundle {
  const { fig, width, height } = outputFigure(given, opts);
  const png = opts.staticPng !== undefined ? opts.staticPng || undefined
    : staticFigurePng({ ...fig, layout: { ...fig.layout, width: width ?? STATIC_WIDTH, height } }, { width: width ?? STATIC_WIDTH, height });
  const bundle: MimeBundle = { 'text/html': figureNotebookHtml(given, { ...opts, staticPng: png ?? false }) };
  if (png) bundle['image/png'] = png;
  bundle['text/plain'] = figureSummary(given);
  return bundle;
}

/** Short text/plain of a figure: its title and traces, e.g. `Plotly figure "LR" (2 traces: scatter "step", scatter "cosine")`. */
export function figureSummary(fig: PlotlyFigure): string {
  const t = fig.layout.title;
  const title = typeof t === 'string' ? t : t && typeof t === 'object' && typeof (t as { text?: unknown }).text === 'string' ? (t as { text: string }).text : '';
  const traces = fig.data.map((d) => `${d.type ?? 'scatter'}${d.name !== undefined ? ` ${JSON.stringify(d.name)}` : ''}`);
  return `Plotly figure${title ? ` ${JSON.stringify(title)}` : ''} (${fig.data.length} trace${fig.data.length === 1 ? '' : 's'}${traces.length ? `: ${traces.join(', ')}` : ''})`;
}

/**
 * HTML of one inline figure: a div plus a small script that draws it with
 * `window.Plotly.newPlot`. The script waits (polling up to 15 s) until both plotly.js is loaded and
 * the div is attached to the document (the classic notebook runs output scripts before inserting
 * the output), then shows a message in the div if plotly.js never appeared. With `staticPng` the
 * div holds that picture until the chart replaces it (where scripts do not run, it stays).
 */
export function figureNotebookHtml(given: PlotlyFigure, opts: ShowFigureOptions = {}): string {
  const id = `ws-plotly-${crypto.randomBytes(8).toString('hex')}`;
  const { fig, width, height } = outputFigure(given, opts);
  const config = { responsive: width === undefined, displaylogo: false, ...(fig.config ?? {}) };
  const layout = { ...fig.layout, height, ...(width !== undefined ? { width } : {}) };
  // the static picture: kept by the notebook's sanitizer where scripts do not run, replaced by the chart where they do
  const img = opts.staticPng
    ? `<img class="ws-static-figure" src="data:image/png;base64,${opts.staticPng}" width="${width ?? STATIC_WIDTH}" alt="${escapeHtml(figureCaption(given) || 'figure')}" style="max-width:100%;height:auto;">`
    : '';
  return (
    `<div id="${id}" class="ws-plotly-figure" style="width:${width !== undefined ? `${width}px` : '100%'};min-height:${height}px;">${img}</div>\n` +
    '<script type="text/javascript">\n' +
    '(function () {\n' +
    `  var id = ${JSON.stringify(id)};\n` +
    `  var fig = ${jsonForScript({ data: fig.data, layout, config })};\n` +
    '  var tries = 0;\n' +
    '  function attempt() {\n' +
    '    var el = document.getElementById(id);\n' +
    '    if (el && window.Plotly) {\n' +
    "      var img = el.querySelector('img.ws-static-figure'); if (img) el.removeChild(img);\n" +
    "      el.style.height = fig.layout.height + 'px';\n" +
    '      window.Plotly.newPlot(el, fig.data, fig.layout, fig.config);\n' +
    '      return;\n' +
    '    }\n' +
    '    if (++tries > 150) {\n' +
    "      if (el) el.insertAdjacentHTML('beforeend', '<pre style=\"color:#a00\">plotly.js is not loaded in this page: run initNotebookPlotly({ force: true }) or restart the kernel and run all cells.</pre>');\n" +
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
  const d = getDisplay();
  if (d.bundle) d.bundle(figureBundle(fig, opts));
  else d.html(figureNotebookHtml(fig, { ...opts, staticPng: opts.staticPng ?? false }));
}
