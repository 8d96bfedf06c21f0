import { armColors, orderArms, withAlpha } from './colors';
import type { CommonFigureOptions, PlotlyFigure, PlotlyTrace } from './types';
import { clean } from './util';
import { targetPercent } from '../model/percent';

/**
 * One arm's Kaplan-Meier estimate, in the shape returned by the statistics module's
 * `kaplanMeier(times, events)` (`{ time, survival, atRisk, events, censorTimes, lower, upper, ... }`)
 * plus the arm name; extra properties are ignored.
 *
 * `survival[i]` is the estimated fraction of runs that have NOT yet reached the target just after
 * `time[i]`. Censoring marks come from, in order of preference: `censorTimes` (one entry per
 * censored run; the statistics module provides it), `censored` (count at `time[i]`), or are
 * derived as `atRisk[i] - events[i] - atRisk[i+1]` (last: `atRisk[i] - events[i]`), which assumes
 * `time` lists every distinct observed time, censoring times included.
 */
export interface KaplanMeierCurveInput {
  arm: string;
  time: readonly number[];
  survival: readonly number[];
  /** Number of runs of the arm (legend); default `atRisk[0]`. */
  n?: number;
  atRisk?: readonly number[];
  events?: readonly number[];
  censored?: readonly number[];
  censorTimes?: readonly number[];
  /**
   * Optional pointwise confidence band (parallel to `time`), drawn as a shaded step band. `null`
   * (undefined limit, e.g. R's NA where S = 0) is drawn as 0 for `lower` and as S for `upper`.
   */
  lower?: ReadonlyArray<number | null>;
  upper?: ReadonlyArray<number | null>;
}

export interface KaplanMeierFigureOptions extends CommonFigureOptions {
  /** x-axis label (default "epochs"). */
  timeLabel?: string;
  /** Target accuracy (fraction) used in the title / y label. */
  target?: number | null;
  /**
   * Right end of the x axis (default: the largest event or censoring time of all arms). Curves are
   * never extended to it: each arm's curve ends at that arm's own last observation.
   */
  maxTime?: number;
  /** Draw the dashed 0.5 line where the median time can be read off (default true). */
  showMedianLine?: boolean;
  /** Draw `lower`/`upper` as a shaded band when given (default true). */
  showConfidenceBand?: boolean;
}

/** Censoring times of a curve input (see {@link KaplanMeierCurveInput}). */
export function kaplanMeierCensorTimes(c: KaplanMeierCurveInput): number[] {
  if (c.censorTimes) return [...c.censorTimes];
  const out: number[] = [];
  if (c.censored) {
    c.censored.forEach((n, i) => {
      for (let k = 0; k < n; k++) out.push(c.time[i]);
    });
    return out;
  }
  if (c.atRisk && c.events) {
    const { atRisk, events } = c;
    for (let i = 0; i < c.time.length; i++) {
      const next = i + 1 < atRisk.length ? atRisk[i + 1] : 0;
      const n = atRisk[i] - events[i] - next;
      for (let k = 0; k < n; k++) out.push(c.time[i]);
    }
  }
  return out;
}

/** Survival value of a step function just after time t (1 before the first time). */
function survivalAt(time: readonly number[], survival: readonly number[], t: number): number {
  let s = 1;
  for (let i = 0; i < time.length && time[i] <= t; i++) s = survival[i];
  return s;
}

/**
 * Last observation of one arm: its largest event or censoring time (0 when it has none). The
 * Kaplan-Meier estimate is undefined after it, so the arm's curve ends there.
 */
export function kaplanMeierLastObservation(c: KaplanMeierCurveInput, censorTimes: readonly number[] = kaplanMeierCensorTimes(c)): number {
  const all = [...c.time, ...censorTimes].filter((t) => Number.isFinite(t));
  return all.length ? Math.max(...all) : 0;
}

/**
 * Kaplan-Meier step curves ("hv" line shape) of the fraction of runs that have NOT yet reached
 * the target vs time (epochs by default), one per arm, starting at (0, 1) and extended flat to that
 * arm's own last observation (its last event or censoring time, {@link kaplanMeierLastObservation})
 * and no further: beyond it the arm has no runs left to estimate anything from. Censored runs are
 * marked with vertical tick marks ("line-ns-open") on the curve.
 *
 * Traces per arm: optional `"<arm> CI lower"` + `"<arm> CI"` band (when lower/upper are given; it
 * ends where the curve ends), `"<arm> (n=k)"` (step line; x = [0, ...time, last], y = [1, ...survival, S(last)],
 * `meta.lastObservation` = last), and `"<arm> censored"` markers (x = censoring times, y = survival there).
 */
export function kaplanMeierFigure(curves: readonly KaplanMeierCurveInput[], opts: KaplanMeierFigureOptions = {}): PlotlyFigure {
  const arms = orderArms(curves.map((c) => c.arm), opts.arms);
  const colors = armColors(arms, opts.colors);
  const censorByArm = new Map(curves.map((c) => [c.arm, kaplanMeierCensorTimes(c)]));
  const allTimes = curves.flatMap((c) => [...c.time, ...(censorByArm.get(c.arm) ?? [])]);
  const end = opts.maxTime ?? (allTimes.length ? Math.max(...allTimes) : 1);
  const data: PlotlyTrace[] = [];
  for (const arm of arms) {
    const c = curves.find((k) => k.arm === arm)!;
    const color = colors[arm];
    // Each arm's curve (and band) ends at its own last event or censoring time.
    const armEnd = kaplanMeierLastObservation(c, censorByArm.get(arm) ?? []);
    const x: number[] = [0];
    const y: number[] = [1];
    for (let i = 0; i < c.time.length; i++) {
      if (c.time[i] === 0) {
        y[0] = c.survival[i];
        continue;
      }
      x.push(c.time[i]);
      y.push(clean(c.survival[i]));
    }
    const last = y[y.length - 1];
    if (x[x.length - 1] < armEnd) {
      x.push(armEnd);
      y.push(last);
    }
    if (c.lower && c.upper && (opts.showConfidenceBand ?? true)) {
      const lx: number[] = [0];
      const lo: number[] = [1];
      const hi: number[] = [1];
      for (let i = 0; i < c.time.length; i++) {
        const l = c.lower[i];
        const u = c.upper[i];
        const sv = c.survival[i];
        const lv = l == null || !Number.isFinite(l) ? 0 : l;
        const uv = u == null || !Number.isFinite(u) ? sv : u;
        if (c.time[i] === 0) {
          lo[0] = clean(lv);
          hi[0] = clean(uv);
          continue;
        }
        lx.push(c.time[i]);
        lo.push(clean(lv));
        hi.push(clean(uv));
      }
      if (lx[lx.length - 1] < armEnd) {
        lx.push(armEnd);
        lo.push(lo[lo.length - 1]);
        hi.push(hi[hi.length - 1]);
      }
      data.push({ type: 'scatter', mode: 'lines', name: `${arm} CI lower`, legendgroup: arm, showlegend: false, x: lx, y: lo, line: { shape: 'hv', width: 0, color: withAlpha(color, 0) }, hoverinfo: 'skip' });
      // a band of no width is not drawn: no legend entry for it
      const drawn = hi.some((h, i) => typeof h === 'number' && typeof lo[i] === 'number' && h - (lo[i] as number) > 1e-9);
      data.push({ type: 'scatter', mode: 'lines', name: `${arm} CI`, legendgroup: arm, showlegend: drawn, x: lx, y: hi, fill: 'tonexty', fillcolor: withAlpha(color, 0.15), line: { shape: 'hv', width: 0, color: withAlpha(color, 0) }, hoverinfo: 'skip' });
    }
    const n = c.n ?? (c.atRisk && c.atRisk.length ? c.atRisk[0] : undefined);
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: n !== undefined ? `${arm} (n=${n})` : arm,
      legendgroup: arm,
      x,
      y,
      line: { shape: 'hv', color, width: 2.5 },
      meta: { arm, lastObservation: armEnd },
      hovertemplate: `${arm}<br>%{x} ${opts.timeLabel ?? 'epochs'}: %{y:.2f} not yet at target<extra></extra>`,
    });
    const ct = censorByArm.get(arm) ?? [];
    if (ct.length > 0) {
      data.push({
        type: 'scatter',
        mode: 'markers',
        name: `${arm} censored (n=${ct.length})`,
        legendgroup: arm,
        x: ct,
        y: ct.map((t) => clean(survivalAt(c.time, c.survival, t))),
        marker: { symbol: 'line-ns-open', size: 14, color, line: { width: 2, color } },
        hovertemplate: `${arm}: censored at %{x}<extra></extra>`,
      });
    }
  }
  if (opts.showMedianLine ?? true) {
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: 'median (0.5)',
      x: [0, end],
      y: [0.5, 0.5],
      line: { color: '#888888', width: 1, dash: 'dot' },
      hoverinfo: 'skip',
    });
  }
  const targetText = opts.target != null ? targetPercent(opts.target) : 'the target';
  const timeLabel = opts.timeLabel ?? 'epochs';
  const layout: Record<string, unknown> = {
    title: {
      text: opts.title ?? `Kaplan-Meier: runs not yet at ${targetText} validation accuracy`,
      subtitle: { text: "lines: estimated fraction of runs not yet at the target, each ending at its arm's last observation (last event or censoring)<br>shaded: pointwise confidence band; ticks: censored runs (never reached it)" },
    },
    margin: { t: 106 },
    xaxis: { title: { text: timeLabel }, rangemode: 'tozero', range: [0, end * 1.02] },
    yaxis: { title: { text: `fraction of runs not yet at ${targetText}` }, range: [-0.02, 1.05] },
    template: 'plotly_white',
    hovermode: 'closest',
  };
  if (opts.width) layout.width = opts.width;
  if (opts.height) layout.height = opts.height;
  return { data, layout };
}
