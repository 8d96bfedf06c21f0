/**
 * reports/report.md and its charts from a results store (`npm run report`, `npm run export-charts`;
 * notebook 04 writes into its parameter report_dir, default reports/notebook-04/): per-arm tables, the tests with their assumptions, Kaplan–Meier / log-rank, the
 * original study's figures side by side with ours, and the exported figures linked.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChromiumNotFoundError, exportFigures, writeFileAtomic, type ExportFormat, type ExportResult } from '../charts/export';
import type { FigureStyle } from '../charts/presets';
import { loadReportResults } from '../results';
import { analyzeResults, hasChartableRuns, unfinishedCounts, type ProtocolAnalysis } from '../model';
import { reportFigures, type ReportFigure } from './figures';
import { reportMarkdown } from './markdown';

export * from './figures';
export * from './markdown';
export * from './notebook';

/** The chart formats export-charts and report can write. */
export const CHART_FORMATS: readonly ExportFormat[] = ['png', 'svg', 'html'];
/** Default chart formats: PNG and SVG (paper style) and HTML (interactive; plotly.min.js once per folder). */
export const DEFAULT_CHART_FORMATS: readonly ExportFormat[] = ['png', 'svg', 'html'];

/** Nothing to chart or report: the selected protocol (or every protocol) has no finished run and no run in training with an epoch. */
export class NoFinishedRunsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoFinishedRunsError';
  }
}

/**
 * The protocols of `analyses` that have something to chart (a finished run, or runs in training with
 * an epoch: their progress), and a sentence for each that has not.
 * @throws NoFinishedRunsError when `protocol` is given and has nothing to chart, or when no protocol has anything
 */
export function chartableProtocols(analyses: ProtocolAnalysis[], store: string, protocol?: string): { protocols: Set<string>; skipped: string[] } {
  const skipped: string[] = [];
  const protocols = new Set<string>();
  for (const p of analyses) {
    if (hasChartableRuns(p)) {
      protocols.add(p.protocol);
      continue;
    }
    const u = unfinishedCounts(p);
    skipped.push(`protocol ${p.protocol} has no finished run and no trained epoch in ${store} (${u.running} started or waiting, ${u.failed} failed; ` +
      'node dist/cli.js status shows them): nothing to chart');
  }
  const wanted = protocol === undefined ? analyses.map((p) => p.protocol) : [protocol];
  if (!wanted.some((p) => protocols.has(p))) {
    throw new NoFinishedRunsError(skipped.filter((s) => protocol === undefined || s.startsWith(`protocol ${protocol} `)).join('; ') ||
      `no finished run and no trained epoch${protocol ? ` of protocol ${protocol}` : ''} in ${store}: nothing to chart (train first, e.g. npm start)`);
  }
  return { protocols, skipped };
}

export interface ExportChartsOptions {
  /** Results store (SQLite). */
  results: string;
  /** Folder of the files (default 'reports'). */
  outDir?: string;
  /** Default ['png', 'svg']. */
  formats?: readonly ExportFormat[];
  /** PNG scale factor (default 2). */
  scale?: number;
  /** Only this protocol's runs. */
  protocol?: string;
  allowMixedConfigs?: boolean;
  /** Chromium executable (default: CHROMIUM_PATH or the search of findChromium). */
  chromiumPath?: string;
  /** PNG/SVG style (default 'paper': one column at 300 dpi, caption beside as .txt). */
  style?: FigureStyle;
}

export interface ExportChartsResult {
  figures: ReportFigure[];
  /** Files written per figure name. */
  files: Record<string, ExportResult>;
  outDir: string;
  /** A sentence per protocol left out because it has nothing to chart (no finished run, no trained epoch). */
  skipped: string[];
}

function checkFormats(formats: readonly ExportFormat[]): void {
  if (formats.length === 0) throw new Error(`formats must name at least one of ${CHART_FORMATS.join(', ')}`);
  for (const f of formats) if (!CHART_FORMATS.includes(f)) throw new Error(`unknown chart format "${String(f)}"; expected ${CHART_FORMATS.join(', ')}`);
}

function checkScale(scale: number | undefined): void {
  if (scale !== undefined && !(Number.isFinite(scale) && scale > 0 && scale <= 10)) throw new Error(`scale must be a number in (0, 10], got ${String(scale)}`);
}

/**
 * Exports the report's figures for what the store contains (per protocol: schedules, validation
 * curves, time to target in epochs and seconds, Kaplan–Meier in epochs and seconds, test error)
 * as `<outDir>/<protocol>-<figure>.<format>`, with one headless Chromium.
 * @throws Error for a missing store, unknown protocol or format; ChromiumNotFoundError for PNG/SVG without Chromium
 */
export async function exportChartsForResults(opts: ExportChartsOptions): Promise<ExportChartsResult> {
  const formats = opts.formats ?? DEFAULT_CHART_FORMATS;
  checkFormats(formats);
  checkScale(opts.scale);
  const { runs, epochs, file } = await loadReportResults(opts.results, opts.protocol, opts.allowMixedConfigs);
  const outDir = path.resolve(opts.outDir ?? 'reports');
  const analyses = analyzeResults(runs, epochs);
  const { protocols, skipped } = chartableProtocols(analyses, file, opts.protocol);
  const figures = reportFigures(runs.filter((r) => protocols.has(r.protocol)), epochs, analyses.filter((p) => protocols.has(p.protocol)));
  const files = figures.length
    ? await exportFigures(Object.fromEntries(figures.map((f) => [f.name, f.figure])), outDir, { formats, scale: opts.scale ?? 2, chromiumPath: opts.chromiumPath, style: opts.style ?? 'paper' })
    : {};
  return { figures, files, outDir, skipped };
}

export interface WriteReportOptions {
  results: string;
  /** Report file (default 'reports/report.md'); charts go next to it. */
  out?: string;
  protocol?: string;
  allowMixedConfigs?: boolean;
  /** Export and link the charts (default true). Without Chromium the report says so and has no images. */
  charts?: boolean;
  formats?: readonly ExportFormat[];
  scale?: number;
  chromiumPath?: string;
  /** PNG/SVG style (default 'paper'). */
  style?: FigureStyle;
  /** A store with nothing to chart is an error naming it, and no report is written (the CLI's choice; default false). */
  requireChartable?: boolean;
}

export interface WriteReportResult {
  /** The report file written. */
  file: string;
  markdown: string;
  analyses: ProtocolAnalysis[];
  figures: ReportFigure[];
  /** Chart files per figure name (empty without charts). */
  files: Record<string, ExportResult>;
  /** Why there are no charts, or null. */
  chartsNote: string | null;
  notes: string[];
}

/**
 * Writes the report (markdown, atomically: temporary file + rename) and, unless `charts` is false,
 * its charts next to it.
 * @throws Error for a missing store, unknown protocol, mixed configurations (PoolingError) or bad options
 */
export async function writeReport(opts: WriteReportOptions): Promise<WriteReportResult> {
  const out = path.resolve(opts.out ?? path.join('reports', 'report.md'));
  if (fs.existsSync(out) && fs.statSync(out).isDirectory()) throw new Error(`report path ${out} is a folder; pass a file name such as ${path.join(out, 'report.md')}`);
  const formats = opts.formats ?? DEFAULT_CHART_FORMATS;
  checkFormats(formats);
  checkScale(opts.scale);
  const loaded = await loadReportResults(opts.results, opts.protocol, opts.allowMixedConfigs);
  const analyses = analyzeResults(loaded.runs, loaded.epochs);
  if (opts.requireChartable) chartableProtocols(analyses, loaded.file, opts.protocol); // throws when nothing is chartable
  // no empty charts: a protocol with nothing to chart is in the markdown (as such), not in the figures
  const charted = analyses.filter(hasChartableRuns);
  const figures = reportFigures(loaded.runs.filter((r) => charted.some((p) => p.protocol === r.protocol)), loaded.epochs, charted);
  const reportDir = path.dirname(out);
  let files: Record<string, ExportResult> = {};
  let chartsNote: string | null = null;
  if (opts.charts === false) {
    chartsNote = null;
  } else if (figures.length) {
    try {
      files = await exportFigures(Object.fromEntries(figures.map((f) => [f.name, f.figure])), reportDir, { formats, scale: opts.scale ?? 2, chromiumPath: opts.chromiumPath, style: opts.style ?? 'paper' });
    } catch (e) {
      if (!(e instanceof ChromiumNotFoundError)) throw e;
      chartsNote = `The charts were not exported: ${e.message}`;
    }
  }
  const markdown = reportMarkdown(analyses, {
    resultsPath: loaded.file, notes: loaded.notes, figures, files, reportDir, chartsNote, protocol: opts.protocol,
  });
  await writeFileAtomic(out, markdown);
  return { file: out, markdown, analyses, figures, files, chartsNote, notes: loaded.notes };
}
