import * as fs from 'fs';
import * as zlib from 'zlib';
import type { PlotlyFigure } from './types';

let plotlyCache: { path: string; source: string } | undefined;

/** Absolute path of the plotly.js bundle in node_modules (`plotly.js-dist/plotly.js`). */
export function plotlyJsPath(): string {
  return require.resolve('plotly.js-dist/plotly.js');
}

/** Source of the plotly.js bundle, read once and cached (about 11 MB). */
export function plotlyJsSource(): string {
  const p = plotlyJsPath();
  if (!plotlyCache || plotlyCache.path !== p) plotlyCache = { path: p, source: fs.readFileSync(p, 'utf8') };
  return plotlyCache.source;
}

/** Absolute path of the minified plotly.js bundle (`plotly.js-dist-min/plotly.min.js`, ~4.8 MB), used by HTML exports. */
export function plotlyMinJsPath(): string {
  return require.resolve('plotly.js-dist-min/plotly.min.js');
}

/** File name of the shared plotly.js that HTML exports in 'directory' mode load by relative path. */
export const PLOTLY_MIN_JS = 'plotly.min.js';

/**
 * Copies the minified plotly.js into `dir` as {@link PLOTLY_MIN_JS} unless an identical-size copy
 * is there (plotly.py's `include_plotlyjs='directory'`). Returns its path.
 */
export function writePlotlyJsBeside(dir: string): string {
  const target = `${dir}/${PLOTLY_MIN_JS}`;
  const source = plotlyMinJsPath();
  if (!fs.existsSync(target) || fs.statSync(target).size !== fs.statSync(source).size) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    fs.copyFileSync(source, tmp);
    fs.renameSync(tmp, target);
  }
  return target;
}

let gzB64: string | undefined;

/**
 * HTML that defines `window.Plotly` offline from a gzip-compressed, base64-encoded copy of the
 * minified plotly.js (node_modules/plotly.js-dist-min), unpacked in the browser with
 * `DecompressionStream` (Chrome 80+, Firefox 113+, Safari 16.4+): about 1.9 MB of notebook output
 * instead of 11 MB for the plain bundle. Skipped when `window.Plotly` is already defined.
 */
export function compressedPlotlyLoaderHtml(): string {
  if (!gzB64) gzB64 = zlib.gzipSync(fs.readFileSync(plotlyMinJsPath()), { level: 9 }).toString('base64');
  return (
    '<script type="text/javascript">\n' +
    '(function () {\n' +
    "  if (typeof window.Plotly !== 'undefined' || window.__wsPlotlyLoading) return;\n" +
    "  if (typeof DecompressionStream === 'undefined') { console.error('plotly.js: this browser lacks DecompressionStream'); return; }\n" +
    '  window.__wsPlotlyLoading = true;\n' +
    `  var b64 = "${gzB64}";\n` +
    '  var bin = atob(b64); var bytes = new Uint8Array(bin.length);\n' +
    '  for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);\n' +
    "  new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text().then(function (src) {\n" +
    "    var s = document.createElement('script'); s.type = 'text/javascript'; s.text = src; document.head.appendChild(s);\n" +
    '    window.__wsPlotlyLoading = false;\n' +
    "  }, function (e) { window.__wsPlotlyLoading = false; console.error('plotly.js could not be unpacked', e); });\n" +
    '})();\n' +
    '</script>\n' +
    `<div style="font-size:11px;color:#888">plotly.js ${plotlyJsVersion()} loaded (offline, minified and gzip-compressed from node_modules)</div>`
  );
}

/** Version string of the bundled plotly.js. */
export function plotlyJsVersion(): string {
  const m = /plotly\.js v([0-9][^\s*]*)/.exec(plotlyJsSource().slice(0, 200));
  return m ? m[1] : 'unknown';
}

/** JSON for embedding inside an HTML `<script>`: `<`, `>`, `&`, U+2028/2029 are \u-escaped. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Makes JavaScript source safe inside an inline `<script>` element (no premature `</script>`). */
export function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export interface FigureHtmlOptions {
  /** Page title (default: the figure's layout title or "figure"). */
  title?: string;
  /** Plot size in CSS pixels; default: layout width/height, else 100% x 600px and responsive. */
  width?: number;
  height?: number;
  /**
   * Where the page gets plotly.js: 'inline' (default; the minified bundle inside the page, one
   * self-contained file of ~4.8 MB) or 'directory' (`<script src="plotly.min.js">`: the file beside
   * the page, written once per folder by the export, see writePlotlyJsBeside).
   */
  plotlyJs?: 'inline' | 'directory';
}

function layoutTitle(fig: PlotlyFigure): string | undefined {
  const t = fig.layout.title;
  if (typeof t === 'string') return t;
  if (t && typeof t === 'object' && typeof (t as { text?: unknown }).text === 'string') return (t as { text: string }).text;
  return undefined;
}

/**
 * Offline HTML page of a figure (no CDN, no network access): plotly.js (minified, from
 * node_modules) inlined or loaded from `plotly.min.js` beside the page (`plotlyJs`), the figure JSON
 * embedded and drawn with `Plotly.newPlot`. Without a width the plot follows the window.
 */
export function figureToHtml(fig: PlotlyFigure, opts: FigureHtmlOptions = {}): string {
  const title = opts.title ?? layoutTitle(fig) ?? 'figure';
  const width = opts.width ?? (fig.layout.width as number | undefined);
  const height = opts.height ?? (fig.layout.height as number | undefined);
  const style = `width:${width ? `${width}px` : '100%'};height:${height ? `${height}px` : '600px'};`;
  const config = { responsive: !width, displaylogo: false, ...(fig.config ?? {}) };
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeHtml(title.replace(/<[^>]*>/g, ''))}</title>`,
    opts.plotlyJs === 'directory'
      ? `<script type="text/javascript" src="${PLOTLY_MIN_JS}"></script>`
      : `<script type="text/javascript">/* plotly.js ${plotlyJsVersion()} (minified, inlined from node_modules/plotly.js-dist-min) */\n${scriptSafe(fs.readFileSync(plotlyMinJsPath(), 'utf8'))}\n</script>`,
    '</head>',
    '<body style="margin:0;font-family:sans-serif;">',
    `<div id="figure" style="${style}"></div>`,
    '<script type="text/javascript">',
    `(function () { var fig = ${jsonForScript(fig)}; window.Plotly.newPlot('figure', fig.data, fig.layout, ${jsonForScript(config)}); })();`,
    '</script>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
