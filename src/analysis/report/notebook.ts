/**
 * Notebook helpers of the analysis notebooks: a smaller offline plotly.js injection (gzip, about
 * 2.7 MB of output instead of 11 MB) and a live validation-accuracy chart for training cells.
 */
import * as zlib from 'node:zlib';
import { figureNotebookHtml, initNotebookPlotly, notebookPlotlyInjected, setNotebookDisplay, type ShowFigureOptions } from '../charts/notebook';
import { escapeHtml, plotlyJsSource, plotlyJsVersion } from '../charts/html';
import { armColors, orderArms } from '../charts/colors';
import type { PlotlyFigure, PlotlyTrace } from '../charts/types';
import type { RunConfig } from '../../train/config';
import type { EpochRecord } from '../../store/types';

/** The part of tslab's display API used here. */
interface TslabDisplay {
  html(s: string): void;
  markdown(s: string): void;
}
interface Tslab {
  display: TslabDisplay;
  newDisplay(): TslabDisplay;
}

function tslab(): Tslab {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require('tslab') as Tslab;
  } catch (err) {
    throw new Error(`the notebook helpers need the tslab package: ${(err as Error).message}`);
  }
}

let gzB64: string | undefined;

/**
 * HTML that defines `window.Plotly` offline from a gzip-compressed, base64-encoded copy of
 * node_modules/plotly.js-dist/plotly.js, unpacked in the browser with `DecompressionStream`
 * (Chrome 80+, Firefox 113+, Safari 16.4+). About 2.7 MB instead of 11 MB.
 */
export function compressedPlotlyHtml(): string {
  if (!gzB64) gzB64 = zlib.gzipSync(Buffer.from(plotlyJsSource(), 'utf8'), { level: 9 }).toString('base64');
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
    `<div style="font-size:11px;color:#888">plotly.js ${plotlyJsVersion()} loaded (offline, gzip-compressed from node_modules)</div>`
  );
}

/**
 * Injects plotly.js into the notebook once, compressed ({@link compressedPlotlyHtml}), and marks it
 * injected so that later `showFigure` calls only add their figure. Call it in the first cell of a
 * notebook, before any `showFigure`; `force` injects again (after a page reload without a kernel
 * restart).
 */
export function initNotebookPlotlyCompressed(opts: { force?: boolean } = {}): void {
  if (notebookPlotlyInjected() && !opts.force) return;
  tslab().display.html(compressedPlotlyHtml());
  // Mark the charts module's injection as done without a second (uncompressed) copy.
  setNotebookDisplay({ html: () => undefined });
  try {
    initNotebookPlotly({ force: true });
  } finally {
    setNotebookDisplay(undefined);
  }
}

export interface LiveValidationChartOptions {
  /** Validation-accuracy target (fraction) drawn as a dashed line. */
  target?: number | null;
  title?: string;
  /** Redraw after every `every` epoch records (default 1). */
  every?: number;
  height?: number;
  /** Arm order (default: natural order of the names). */
  arms?: string[];
  /** Output to update in place (default: a new tslab display, `tslab.newDisplay()`). */
  display?: { html(s: string): void };
}

/**
 * A validation-accuracy-per-epoch chart for a training cell: pass {@link LiveValidationChart.onEpoch}
 * as `runProtocol`'s `onEpoch`. tslab's `newDisplay()` sends `update_display_data`, so the chart is
 * redrawn in place in one output (Jupyter front ends and nbclient keep the last state).
 */
export class LiveValidationChart {
  private readonly points = new Map<string, { arm: string; seed: number; x: number[]; y: number[] }>();
  private readonly display: { html(s: string): void };
  private count = 0;
  private readonly every: number;

  constructor(private readonly opts: LiveValidationChartOptions = {}) {
    this.every = Math.max(1, Math.floor(opts.every ?? 1));
    this.display = opts.display ?? tslab().newDisplay();
  }

  /** Adds an epoch (a `runProtocol` onEpoch callback); redraws every `every` records. */
  readonly onEpoch = (record: EpochRecord, config: Pick<RunConfig, 'arm' | 'seed'>): void => {
    let p = this.points.get(record.runId);
    if (!p) {
      p = { arm: config.arm, seed: config.seed, x: [], y: [] };
      this.points.set(record.runId, p);
    }
    p.x.push(record.epoch);
    p.y.push(+(record.validationAccuracy * 100).toFixed(3));
    if (++this.count % this.every === 0) this.render();
  };

  /** Epoch records received so far. */
  get epochsSeen(): number {
    return this.count;
  }

  /** The current figure: one line per run, coloured by arm. */
  figure(): PlotlyFigure {
    const arms = orderArms([...this.points.values()].map((p) => p.arm), this.opts.arms);
    const colors = armColors(arms);
    const data: PlotlyTrace[] = [];
    const shown = new Set<string>();
    let maxEpoch = 1;
    for (const arm of arms) {
      for (const p of [...this.points.values()].filter((q) => q.arm === arm).sort((a, b) => a.seed - b.seed)) {
        maxEpoch = Math.max(maxEpoch, ...p.x);
        data.push({
          type: 'scatter', mode: 'lines+markers', name: `${arm}`, legendgroup: arm, showlegend: !shown.has(arm),
          x: p.x, y: p.y, line: { color: colors[arm], width: 1.5 }, marker: { size: 5 },
          hovertemplate: `${arm} seed ${p.seed}<br>epoch %{x}<br>val acc %{y:.2f}%<extra></extra>`,
        });
        shown.add(arm);
      }
    }
    if (this.opts.target != null) {
      const t = +(this.opts.target * 100).toFixed(2);
      data.push({ type: 'scatter', mode: 'lines', name: `target ${t}%`, x: [0, maxEpoch], y: [t, t], line: { color: '#222222', dash: 'dash', width: 1.5 }, hoverinfo: 'skip' });
    }
    return {
      data,
      layout: {
        title: {
          text: this.opts.title ?? 'Validation accuracy per epoch (live)',
          subtitle: { text: `${this.count} epoch record${this.count === 1 ? '' : 's'} of ${this.points.size} run${this.points.size === 1 ? '' : 's'} so far` },
        },
        xaxis: { title: { text: 'epoch' }, rangemode: 'tozero', ...(maxEpoch <= 20 ? { dtick: 1 } : {}) },
        yaxis: { title: { text: 'validation accuracy (%)' } },
        template: 'plotly_white',
        height: this.opts.height ?? 420,
      },
    };
  }

  /** Redraws the chart now (e.g. at the end of training). */
  render(opts: ShowFigureOptions = {}): void {
    if (this.points.size === 0) {
      this.display.html('<div style="color:#888">waiting for the first epoch…</div>');
      return;
    }
    this.display.html(figureNotebookHtml(this.figure(), { height: this.opts.height ?? 420, ...opts }));
  }
}

/** Displays markdown in the notebook (tslab `display.markdown`), e.g. a section of the report. */
export function showMarkdown(md: string): void {
  tslab().display.markdown(md);
}

/** The parts of a danfo DataFrame used by {@link frameHtml}. */
export interface FrameLike {
  columns: string[];
  values: unknown[][] | unknown[];
  index: Array<string | number>;
}

function cellText(v: unknown, digits: number): string {
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toPrecision(digits));
  return String(v);
}

/**
 * An HTML table of a danfo DataFrame (numbers to `digits` significant digits, NaN as "–"), which
 * reads better in a notebook than `df.print()`'s fixed-width console table.
 */
export function frameHtml(df: FrameLike, opts: { digits?: number; maxRows?: number; caption?: string } = {}): string {
  const digits = opts.digits ?? 4;
  const maxRows = opts.maxRows ?? 60;
  const rows = (df.values as unknown[]).map((r) => (Array.isArray(r) ? r : [r]));
  const shown = rows.slice(0, maxRows);
  const th = (s: string) => `<th style="text-align:left">${escapeHtml(s)}</th>`;
  const td = (v: unknown) => `<td style="text-align:${typeof v === 'number' ? 'right' : 'left'}">${escapeHtml(cellText(v, digits))}</td>`;
  return [
    '<table class="ws-frame">',
    opts.caption ? `<caption style="text-align:left">${escapeHtml(opts.caption)}</caption>` : '',
    `<thead><tr>${th('')}${df.columns.map(th).join('')}</tr></thead>`,
    '<tbody>',
    ...shown.map((r, i) => `<tr>${td(df.index[i])}${r.map(td).join('')}</tr>`),
    '</tbody></table>',
    rows.length > maxRows ? `<div style="color:#888">${rows.length - maxRows} more rows not shown</div>` : '',
  ].join('\n');
}

/** Displays a danfo DataFrame as an HTML table in the notebook (see {@link frameHtml}). */
export function showFrame(df: FrameLike, opts: { digits?: number; maxRows?: number; caption?: string } = {}): void {
  tslab().display.html(frameHtml(df, opts));
}
