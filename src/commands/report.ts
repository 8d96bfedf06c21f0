/**
 * `report` and `export-charts`: reports/report.md (or --out) with its charts, or the charts alone,
 * from a results store (src/analysis/report: loading, checks, figures, markdown).
 */
import * as path from 'node:path';
import type { ExportFormat } from '../analysis/charts/export';
import type { FigureStyle } from '../analysis/charts/presets';
import { CHART_FORMATS, exportChartsForResults, writeReport } from '../analysis/report';
import { redactLocation, resolveResultsLocation } from '../store';
import { MIXED, RESULTS, str, type Command, type OptionSpecs, type Values } from './options';

const STYLES: readonly FigureStyle[] = ['paper', 'screen'];

/** Parses `--style paper|screen` (default paper). */
export function parseStyle(s: string | undefined): FigureStyle {
  if (s === undefined) return 'paper';
  if (!STYLES.includes(s as FigureStyle)) throw new Error(`--style "${s}": expected ${STYLES.join(' or ')}`);
  return s as FigureStyle;
}


/** Parsed CLI values of `report` / `export-charts` (src/commands/report.ts). */
export interface ReportCliValues {
  results?: string;
  protocol?: string;
  out?: string;
  formats?: string;
  scale?: string;
  style?: string;
  'allow-mixed-configs'?: boolean;
}

/** Parses `--formats png,svg` (named in errors). */
export function parseFormats(s: string | undefined): ExportFormat[] | undefined {
  if (s === undefined) return undefined;
  const list = s.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  if (list.length === 0) throw new Error(`--formats "${s}" names no format; expected a comma list of ${CHART_FORMATS.join(', ')}`);
  for (const f of list) if (!CHART_FORMATS.includes(f as ExportFormat)) throw new Error(`--formats "${s}": unknown format "${f}"; expected ${CHART_FORMATS.join(', ')}`);
  return [...new Set(list)] as ExportFormat[];
}

/** Parses `--scale N` (named in errors). */
export function parseScale(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!s.trim() || !Number.isFinite(n) || n <= 0 || n > 10) throw new Error(`--scale must be a number in (0, 10], got "${s}"`);
  return n;
}

function shown(f: string): string {
  const rel = path.relative(process.cwd(), f);
  return rel && !rel.startsWith('..') ? rel : f;
}

/** `npm run export-charts`: exports the figures of the store's runs into --out (default reports/). */
export async function cliExportCharts(v: ReportCliValues): Promise<void> {
  const formats = parseFormats(v.formats);
  const scale = parseScale(v.scale);
  const results = resolveResultsLocation(v.results);
  const r = await exportChartsForResults({ results, outDir: v.out ?? 'reports', formats, scale, style: parseStyle(v.style), protocol: v.protocol, allowMixedConfigs: v['allow-mixed-configs'] });
  console.log(`results: ${redactLocation(results)}`);
  r.skipped.forEach((s) => console.log(`note: ${s}`));
  for (const f of r.figures) for (const file of Object.values(r.files[f.name] ?? {})) console.log(`wrote ${shown(file!)}`);
}

/** `npm run report`: writes reports/report.md (or --out) and its charts. */
export async function cliReport(v: ReportCliValues): Promise<void> {
  const formats = parseFormats(v.formats);
  const scale = parseScale(v.scale);
  const results = resolveResultsLocation(v.results);
  const out = v.out ?? path.join('reports', 'report.md');
  if (!/\.(md|markdown)$/i.test(out)) throw new Error(`--out "${out}" must be a markdown file name ending in .md`);
  const r = await writeReport({ results, out, formats, scale, style: parseStyle(v.style), protocol: v.protocol, allowMixedConfigs: v['allow-mixed-configs'], requireChartable: true });
  console.log(`results: ${redactLocation(results)}`);
  r.notes.forEach((n) => console.log(`note: ${n}`));
  for (const f of r.figures) for (const file of Object.values(r.files[f.name] ?? {})) console.log(`wrote ${shown(file!)}`);
  if (r.chartsNote) console.log(`note: ${r.chartsNote}`);
  console.log(`wrote ${shown(r.file)} (${r.analyses.map((p) => `${p.protocol}: ${p.runs} runs`).join(', ') || 'no runs'})`);
}

/** The options of report and export-charts. */
const CHART_OPTIONS = (out: OptionSpecs): OptionSpecs => ({
  protocol: { type: 'string', value: 'NAME', help: 'only this protocol\'s runs' }, ...RESULTS, ...out,
  formats: { type: 'string', value: CHART_FORMATS.join(','), help: 'chart formats (default png,svg,html; PNG and SVG need Chromium)' },
  style: { type: 'string', value: STYLES.join('|'), help: 'PNG/SVG style (default paper: one column at 300 dpi)' },
  scale: { type: 'string', value: 'N', help: 'PNG scale factor in (0, 10] (default 2)' },
  ...MIXED,
});

/** The values of report / export-charts as their functions take them. */
const reportValues = (v: Values): ReportCliValues => ({
  results: str(v.results), protocol: str(v.protocol), out: str(v.out), formats: str(v.formats), scale: str(v.scale), style: str(v.style),
  'allow-mixed-configs': v['allow-mixed-configs'] as boolean | undefined,
});

export const exportCharts: Command = {
  name: 'export-charts',
  synopsis: '  export-charts [--protocol NAME] [--results FILE|URL] [--out DIR] [--formats png,svg,html] [--style paper|screen] [--scale N] [--allow-mixed-configs]',
  options: CHART_OPTIONS({ out: { type: 'string', value: 'DIR', help: 'folder of the charts (default reports)' } }),
  run: (v) => cliExportCharts(reportValues(v)),
};

export const report: Command = {
  name: 'report',
  synopsis: '  report [--protocol NAME] [--results FILE|URL] [--out FILE] [--formats png,svg,html] [--style paper|screen] [--scale N] [--allow-mixed-configs]',
  options: CHART_OPTIONS({ out: { type: 'string', value: 'FILE', help: 'the report, a .md file (default reports/report.md); charts beside it' } }),
  run: (v) => cliReport(reportValues(v)),
};
