/**
 * Notebook helpers of the analysis notebooks: the offline plotly.js injection (gzip, about
 * 1.9 MB of output) and a live validation-accuracy chart for training cells.
 */
import * as crypto from 'node:crypto';
import { figureBundle, figureNotebookHtml, initNotebookPlotly, notebookPlotlyInjected, sendBundle, setNotebookDisplay, type MimeBundle, type ShowFigureOptions } from '../charts/notebook';
import { compressedPlotlyLoaderHtml, escapeHtml } from '../charts/html';
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

/**
 * HTML that defines `window.Plotly` offline from a gzip-compressed, base64-encoded copy of the
 * minified plotly.js (charts/html.ts {@link compressedPlotlyLoaderHtml}, about 1.9 MB of output).
 */
export function compressedPlotlyHtml(): string {
  return compressedPlotlyLoaderHtml();
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
  /** Output to update in place (default: a new output of this cell, updated with update_display_data). */
  display?: { html(s: string): void };
}

/** Line dashes of an arm's seeds in the live chart (up to 12 runs: each seed its own legend entry). */
const DASHES = ['solid', 'dot', 'dash', 'longdash', 'dashdot', 'longdashdot'];

/** One output of the running cell, replaced in place by later calls (Jupyter display_id). */
function cellOutput(): { html(s: string): void; bundle(b: MimeBundle): void } {
  const id = crypto.randomBytes(16).toString('hex');
  let sent = false;
  const send = (b: MimeBundle) => {
    sendBundle(b, id, sent);
    sent = true;
  };
  return { html: (h) => send({ 'text/html': h }), bundle: send };
}

/**
 * A validation-accuracy-per-epoch chart for a training cell: pass {@link LiveValidationChart.onEpoch}
 * as `runProtocol`'s `onEpoch`. its output is replaced with `update_display_data` (one display_id), so the chart is
 * redrawn in place in one output (Jupyter front ends and nbclient keep the last state).
 */
export class LiveValidationChart {
  private readonly points = new Map<string, { arm: string; seed: number; x: number[]; y: number[] }>();
  private readonly display: { html(s: string): void; bundle?(b: MimeBundle): void };
  private count = 0;
  private readonly every: number;

  constructor(private readonly opts: LiveValidationChartOptions = {}) {
    this.every = Math.max(1, Math.floor(opts.every ?? 1));
    this.display = opts.display ?? cellOutput();
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
    if (++this.count % this.every === 0) this.draw({ staticPng: false });
  };

  /** Epoch records received so far. */
  get epochsSeen(): number {
    return this.count;
  }

  /**
   * The current figure: one line per run (seed), coloured by arm; with up to 12 runs each seed has
   * its own dash and legend entry, with more one entry per arm names the count.
   */
  figure(): PlotlyFigure {
    const arms = orderArms([...this.points.values()].map((p) => p.arm), this.opts.arms);
    const colors = armColors(arms);
    const data: PlotlyTrace[] = [];
    const each = this.points.size <= 12;
    let maxEpoch = 1;
    for (const arm of arms) {
      const runs = [...this.points.values()].filter((q) => q.arm === arm).sort((a, b) => a.seed - b.seed);
      runs.forEach((p, k) => {
        maxEpoch = Math.max(maxEpoch, ...p.x);
        data.push({
          type: 'scatter', mode: 'lines+markers', name: each ? `${arm} seed ${p.seed}` : `${arm} (${runs.length} seeds)`,
          legendgroup: arm, showlegend: each || k === 0,
          x: p.x, y: p.y, line: { color: colors[arm], width: 1.5, dash: each ? DASHES[k % DASHES.length] : 'solid' }, marker: { size: 5 },
          hovertemplate: `${arm} seed ${p.seed}<br>epoch %{x}<br>val acc %{y:.2f}%<extra></extra>`,
        });
      });
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

  /**
   * Redraws the chart now, with its static image (call it at the end of training: the epochs'
   * redraws are interactive only, so that they cost no rendering time).
   */
  render(opts: ShowFigureOptions = {}): void {
    this.draw(opts);
  }

  private draw(opts: ShowFigureOptions): void {
    if (this.points.size === 0) {
      this.display.html('<div style="color:#888">waiting for the first epoch…</div>');
      return;
    }
    const o = { height: this.opts.height ?? 420, ...opts };
    if (this.display.bundle) this.display.bundle(figureBundle(this.figure(), o));
    else this.display.html(figureNotebookHtml(this.figure(), { ...o, staticPng: o.staticPng ?? false }));
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

function cellText(v: unknown, digits: number, unit: '' | '%' | 'pp' = ''): string {
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return '–';
  if (typeof v === 'number' && unit) return `${(100 * v).toFixed(2)}${unit === '%' ? '%' : ' pp'}`;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toPrecision(digits));
  return String(v);
}

/** Columns shown in percent (the frames hold fractions): names with "accuracy" or "error", any case. */
const PERCENT_COLUMN = /accuracy|error/i;
/** Value columns of a comparison frame (comparisonFrame): in % (means) or pp (differences) on rows whose measure is an error or accuracy. */
const COMPARISON_COLUMNS: Record<string, '%' | 'pp'> = { meanA: '%', meanB: '%', difference: 'pp', ciLower: 'pp', ciUpper: 'pp', detectableDifference: 'pp' };

/** Options of {@link frameHtml} and {@link showFrame}. */
export interface FrameHtmlOptions {
  /** Significant digits of numbers not shown in percent (default 4). */
  digits?: number;
  /** Rows shown (default 60). */
  maxRows?: number;
  caption?: string;
  /** Show accuracies and errors (fractions) in percent, as the report does (default true). */
  percent?: boolean;
}

/**
 * An HTML table of a danfo DataFrame (numbers to `digits` significant digits, NaN as "–"), which
 * reads better in a notebook than `df.print()`'s fixed-width console table. Accuracies and errors
 * are shown in percent as in the report and the write-up (the frame keeps its fractions): columns
 * whose name has "accuracy" or "error" (e.g. finalTestError, validationAccuracy,
 * finalTestError_mean), and in a comparison frame (a `measure` column) the means (%) and
 * differences (pp) of rows whose measure is a test error or accuracy.
 */
export function frameHtml(df: FrameLike, opts: FrameHtmlOptions = {}): string {
  const digits = opts.digits ?? 4;
  const maxRows = opts.maxRows ?? 60;
  const percent = opts.percent ?? true;
  const rows = (df.values as unknown[]).map((r) => (Array.isArray(r) ? r : [r]));
  const shown = rows.slice(0, maxRows);
  const measureAt = df.columns.indexOf('measure');
  const unitOf = (row: unknown[], col: string): '' | '%' | 'pp' => {
    if (!percent) return '';
    if (measureAt >= 0) return PERCENT_COLUMN.test(String(row[measureAt] ?? '')) ? COMPARISON_COLUMNS[col] ?? '' : '';
    return PERCENT_COLUMN.test(col) ? '%' : '';
  };
  const th = (s: string) => `<th style="text-align:left">${escapeHtml(s)}</th>`;
  // cells on one line ("cosine-14", "-0.85 pp"); a table wider than the output scrolls in its own box
  const td = (v: unknown, unit: '' | '%' | 'pp' = '') => `<td style="text-align:${typeof v === 'number' ? 'right' : 'left'};white-space:nowrap">${escapeHtml(cellText(v, digits, unit))}</td>`;
  return [
    '<div class="ws-frame-box" style="overflow-x:auto;max-width:100%">',
    '<table class="ws-frame">',
    opts.caption ? `<caption style="text-align:left">${escapeHtml(opts.caption)}</caption>` : '',
    `<thead><tr>${th('')}${df.columns.map(th).join('')}</tr></thead>`,
    '<tbody>',
    ...shown.map((r, i) => `<tr>${td(df.index[i])}${r.map((v, k) => td(v, unitOf(r, df.columns[k]))).join('')}</tr>`),
    '</tbody></table>',
    '</div>',
    rows.length > maxRows ? `<div style="color:#888">${rows.length - maxRows} more rows not shown</div>` : '',
  ].join('\n');
}

/** Displays a danfo DataFrame as an HTML table in the notebook (see {@link frameHtml}). */
export function showFrame(df: FrameLike, opts: FrameHtmlOptions = {}): void {
  tslab().display.html(frameHtml(df, opts));
}
