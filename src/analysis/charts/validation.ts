import type { EpochRecord, RunRecord } from '../../store/types';
import { armColors, orderArms, withAlpha } from './colors';
import type { CommonFigureOptions, PlotlyFigure, PlotlyTrace } from './types';
import { clean, fmt } from './util';
import { validationSummaryByArm } from '../model';

export { validationSummaryByArm, type ValidationEpochSummary } from '../model';

export interface ValidationCurvesOptions extends CommonFigureOptions {
  /** Validation-accuracy target as a fraction (e.g. 0.85), drawn as a horizontal dashed line. Omit for none. */
  target?: number | null;
  /**
   * Minimum number of runs in an arm's statistics at an epoch (still training plus carried
   * forward, see {@link validationSummaryByArm}) for its median / IQR to be drawn there (default 1).
   */
  minRuns?: number;
  /**
   * Carry each finished run's last validation accuracy forward to the arm's last epoch in the
   * median / IQR (default true; see {@link validationSummaryByArm}). `false` gives the statistics of
   * the runs still training only, which after runs stop at the target describe only the slow runs.
   */
  carryForward?: boolean;
  /** Draw the per-run thin lines (default true). */
  showRuns?: boolean;
}

/**
 * Validation accuracy (%) per epoch for every run (thin, semi-transparent lines coloured by arm),
 * with each arm's per-epoch median (thick line) and interquartile band (25th-75th percentile,
 * filled), and the target as a dashed horizontal line. By default a run that stopped (reached the
 * target, or finished) keeps its last validation accuracy in the median and band up to the arm's
 * last epoch ({@link validationSummaryByArm}), so the median after the fast runs stop is not that of
 * the slow runs alone; the subtitle says so. The run lines themselves end where the runs stopped.
 *
 * Trace order per arm: run lines (legend group `arm`, only the first shows in the legend),
 * `"<arm> Q1"` (invisible lower edge), `"<arm> IQR"` (upper edge, fill 'tonexty'), `"<arm> median"`
 * (`customdata` = [n, carried] per epoch; `meta` = { n, training, carried } arrays).
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
  const carryForward = opts.carryForward ?? true;
  const summary = validationSummaryByArm(epochs, runs, opts.minRuns ?? 1, carryForward);
  let anyCarried = false;
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
    if (rows.some((r) => r.carried > 0)) anyCarried = true;
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
      // a band of no width (one run per epoch) is not drawn: no legend entry for it
      showlegend: rows.some((r) => r.q3 - r.q1 > 1e-12),
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
      customdata: rows.map((r) => [r.n, r.carried]),
      meta: { arm, n: rows.map((r) => r.n), training: rows.map((r) => r.training), carried: rows.map((r) => r.carried) },
      line: { color, width: 3 },
      hovertemplate: `${arm} median<br>epoch %{x}<br>%{y:.2f}% (n=%{customdata[0]}, of which %{customdata[1]} stopped earlier: last value carried forward)<extra></extra>`,
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
      subtitle: {
        text: 'thin: individual runs; thick: per-arm median; band: interquartile range (25th-75th percentile)' +
          (carryForward
            ? anyCarried
              ? "<br>a run that stopped (reached the target or ended) counts in its arm's median and band at its last validation accuracy, carried forward"
              : ''
            : '<br>median and band over the runs still training at each epoch only (runs that stopped early are not counted)'),
      },
    },
    margin: { t: carryForward && !anyCarried ? 88 : 106 },
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
