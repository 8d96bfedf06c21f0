import type { EpochRecord, RunRecord } from '../../runs/types';
import { armColors, orderArms, withAlpha } from './colors';
import type { CommonFigureOptions, PlotlyFigure, PlotlyTrace } from './types';
import { clean, fmt, quantile7 } from './util';

export interface ValidationCurvesOptions extends CommonFigureOptions {
  /** Validation-accuracy target as a fraction (e.g. 0.85), drawn as a horizontal dashed line. Omit for none. */
  target?: number | null;
  /**
   * Minimum number of runs of an arm that must have an epoch for the arm's median / IQR to be
   * drawn at that epoch (default 1). Runs stop at different epochs (e.g. when they reach the
   * target), so late-epoch statistics describe only the runs still training.
   */
  minRuns?: number;
  /** Draw the per-run thin lines (default true). */
  showRuns?: boolean;
}

/** Per-arm, per-epoch summary of validation accuracy (fractions), as plotted by {@link validationCurvesFigure}. */
export interface ValidationEpochSummary {
  epoch: number;
  n: number;
  q1: number;
  median: number;
  q3: number;
}

/**
 * Per-epoch median and quartiles (type-7 linear interpolation) of validation accuracy over the runs
 * of each arm that have a record for that epoch. Epoch records of runs not in `runs` are ignored;
 * a duplicated (runId, epoch) keeps the last record.
 */
export function validationSummaryByArm(epochs: readonly EpochRecord[], runs: readonly RunRecord[], minRuns = 1): Map<string, ValidationEpochSummary[]> {
  const armOf = new Map(runs.map((r) => [r.runId, r.arm]));
  const perArm = new Map<string, Map<number, Map<string, number>>>();
  for (const e of epochs) {
    const arm = armOf.get(e.runId);
    if (arm === undefined || !Number.isFinite(e.validationAccuracy)) continue;
    if (!perArm.has(arm)) perArm.set(arm, new Map());
    const byEpoch = perArm.get(arm)!;
    if (!byEpoch.has(e.epoch)) byEpoch.set(e.epoch, new Map());
    byEpoch.get(e.epoch)!.set(e.runId, e.validationAccuracy);
  }
  const out = new Map<string, ValidationEpochSummary[]>();
  for (const [arm, byEpoch] of perArm) {
    const rows: ValidationEpochSummary[] = [];
    for (const epoch of [...byEpoch.keys()].sort((a, b) => a - b)) {
      const values = [...byEpoch.get(epoch)!.values()];
      if (values.length < minRuns) continue;
      rows.push({ epoch, n: values.length, q1: quantile7(values, 0.25), median: quantile7(values, 0.5), q3: quantile7(values, 0.75) });
    }
    out.set(arm, rows);
  }
  return out;
}

/**
 * Validation accuracy (%) per epoch for every run (thin, semi-transparent lines coloured by arm),
 * with each arm's per-epoch median (thick line) and interquartile band (25th-75th percentile,
 * filled), and the target as a dashed horizontal line.
 *
 * Trace order per arm: run lines (legend group `arm`, only the first shows in the legend),
 * `"<arm> Q1"` (invisible lower edge), `"<arm> IQR"` (upper edge, fill 'tonexty'), `"<arm> median"`.
 * The target line trace is named `"target <x>%"`. All y values are percentages.
 */
export function validationCurvesFigure(epochs: readonly EpochRecord[], runs: readonly RunRecord[], opts: ValidationCurvesOptions = {}): PlotlyFigure {
  const runIds = new Set(runs.map((r) => r.runId));
  const arms = orderArms(runs.map((r) => r.arm), opts.arms);
  const colors = armColors(arms, opts.colors);
  const byRun = new Map<string, EpochRecord[]>();
  for (const e of epochs) {
    if (!runIds.has(e.runId)) continue;
    if (!byRun.has(e.runId)) byRun.set(e.runId, []);
    byRun.get(e.runId)!.push(e);
  }
  const summary = validationSummaryByArm(epochs, runs, opts.minRuns ?? 1);
  const data: PlotlyTrace[] = [];
  let maxEpoch = 0;
  for (const arm of arms) {
    const armRuns = runs.filter((r) => r.arm === arm && byRun.has(r.runId));
    const color = colors[arm];
    if (opts.showRuns ?? true) {
      armRuns.forEach((run, k) => {
        // Last record per epoch wins, sorted by epoch.
        const dedup = new Map<number, EpochRecord>();
        for (const e of byRun.get(run.runId)!) dedup.set(e.epoch, e);
        const rows = [...dedup.values()].sort((a, b) => a.epoch - b.epoch);
        maxEpoch = Math.max(maxEpoch, ...rows.map((r) => r.epoch));
        data.push({
          type: 'scatter',
          mode: 'lines',
          name: `${arm} runs (n=${armRuns.length})`,
          legendgroup: `${arm} runs`,
          showlegend: k === 0,
          x: rows.map((r) => r.epoch),
          y: rows.map((r) => clean(r.validationAccuracy * 100)),
          line: { color: withAlpha(color, 0.3), width: 1 },
          meta: { runId: run.runId, seed: run.seed, arm },
          hovertemplate: `${arm} seed ${run.seed}<br>epoch %{x}<br>val acc %{y:.2f}%<extra></extra>`,
        });
      });
    }
    const rows = summary.get(arm) ?? [];
    if (rows.length === 0) continue;
    maxEpoch = Math.max(maxEpoch, rows[rows.length - 1].epoch);
    const x = rows.map((r) => r.epoch);
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `${arm} Q1`,
      legendgroup: `${arm} summary`,
      showlegend: false,
      x,
      y: rows.map((r) => clean(r.q1 * 100)),
      line: { color: withAlpha(color, 0), width: 0 },
      hoverinfo: 'skip',
    });
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `${arm} IQR`,
      legendgroup: `${arm} summary`,
      x,
      y: rows.map((r) => clean(r.q3 * 100)),
      fill: 'tonexty',
      fillcolor: withAlpha(color, 0.2),
      line: { color: withAlpha(color, 0), width: 0 },
      hoverinfo: 'skip',
    });
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `${arm} median`,
      legendgroup: `${arm} summary`,
      x,
      y: rows.map((r) => clean(r.median * 100)),
      customdata: rows.map((r) => r.n),
      line: { color, width: 3 },
      hovertemplate: `${arm} median<br>epoch %{x}<br>%{y:.2f}% (n=%{customdata})<extra></extra>`,
    });
  }
  if (opts.target != null) {
    const t = clean(opts.target * 100);
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `target ${fmt(t)}%`,
      x: [0, Math.max(1, maxEpoch)],
      y: [t, t],
      line: { color: '#222222', width: 1.5, dash: 'dash' },
      hoverinfo: 'skip',
    });
  }
  const layout: Record<string, unknown> = {
    title: {
      text: opts.title ?? 'Validation accuracy per epoch',
      subtitle: { text: 'thin: individual runs; thick: per-arm median; band: interquartile range (25th-75th percentile)' },
    },
    xaxis: { title: { text: 'epoch' }, rangemode: 'tozero' },
    yaxis: { title: { text: 'validation accuracy (%)' } },
    template: 'plotly_white',
    legend: { orientation: 'v' },
    hovermode: 'closest',
  };
  if (opts.width) layout.width = opts.width;
  if (opts.height) layout.height = opts.height;
  return { data, layout };
}
