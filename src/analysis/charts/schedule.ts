import { armColors } from './colors';
import type { PlotlyFigure, PlotlyTrace } from './types';
import { clean, niceStep } from './util';

/** A learning-rate schedule as used by the trainer: learning rate of 0-based optimizer iteration `iteration`. */
export type LearningRateFn = (iteration: number) => number;

/**
 * One curve of {@link scheduleFigure}: either precomputed per-iteration learning rates
 * (`learningRates[i]` = learning rate of iteration i) or a schedule function evaluated at
 * iterations 0 .. iterations - 1.
 */
export type ScheduleSeries =
  | { name: string; learningRates: readonly number[]; color?: string; dash?: string }
  | { name: string; schedule: LearningRateFn; iterations?: number; color?: string; dash?: string };

export interface ScheduleFigureOptions {
  title?: string;
  /** Iterations (mini-batches) per epoch; when set, a second x axis on top is labelled in epochs. */
  iterationsPerEpoch?: number;
  /** Default number of iterations for series given as a schedule function without `iterations`. */
  iterations?: number;
  /** Logarithmic learning-rate axis (default false). */
  logY?: boolean;
  /**
   * Maximum number of regularly spaced samples per series (default 2000; `Infinity` keeps every
   * iteration). Jumps (one-iteration changes larger than `jumpThreshold` of the series' range) are
   * always kept on both sides, so step drops and warm restarts stay sharp.
   */
  maxPoints?: number;
  /** See `maxPoints` (default 0.01). */
  jumpThreshold?: number;
  /** Explicit series colours by name. */
  colors?: Record<string, string>;
  width?: number;
  height?: number;
}

/** Per-iteration learning rates of one series. */
function seriesValues(s: ScheduleSeries, defaultIterations: number | undefined): number[] {
  if ('learningRates' in s) return [...s.learningRates];
  const n = s.iterations ?? defaultIterations;
  if (n === undefined || !(n > 0)) {
    throw new Error(`scheduleFigure: series "${s.name}" is a schedule function but no iterations were given (series.iterations or opts.iterations)`);
  }
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = s.schedule(i);
  return out;
}

/**
 * Indices kept when downsampling a learning-rate curve: every `stride`-th iteration, the last one,
 * and both sides of every jump (|lr[i] - lr[i-1]| > jumpThreshold * (max - min)).
 */
export function scheduleSampleIndices(lr: readonly number[], maxPoints = 2000, jumpThreshold = 0.01): number[] {
  const n = lr.length;
  if (n === 0) return [];
  if (!Number.isFinite(maxPoints) || n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const stride = Math.ceil(n / maxPoints);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of lr) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const jump = (hi - lo) * jumpThreshold;
  const keep = new Set<number>();
  for (let i = 0; i < n; i += stride) keep.add(i);
  keep.add(n - 1);
  for (let i = 1; i < n; i++) {
    if (Math.abs(lr[i] - lr[i - 1]) > jump) {
      keep.add(i - 1);
      keep.add(i);
    }
  }
  return [...keep].sort((a, b) => a - b);
}

/**
 * Learning rate vs iteration for several schedules overlaid (one line trace per series, x =
 * 0-based iteration, y = learning rate). With `iterationsPerEpoch`, a second x axis on top shows
 * epochs (tick at iteration e * iterationsPerEpoch labelled e).
 *
 * @example
 * scheduleFigure([
 *   { name: 'step', schedule: stepDecay({ lr: 0.1, milestones: [32000, 48000], gamma: 0.1 }) },
 *   { name: 'SGDR, cycle 7', schedule: cosineAnnealingWarmRestarts({ lrMax: 0.1, lrMin: 0, cycleLength: 7 * 352, cycleMult: 2 }) },
 * ], { iterations: 64000, iterationsPerEpoch: 352 })
 */
export function scheduleFigure(series: readonly ScheduleSeries[], opts: ScheduleFigureOptions = {}): PlotlyFigure {
  const colors = armColors(series.map((s) => s.name), {
    ...(opts.colors ?? {}),
    ...Object.fromEntries(series.filter((s) => s.color).map((s) => [s.name, s.color as string])),
  });
  let maxIteration = 0;
  const data: PlotlyTrace[] = series.map((s) => {
    const lr = seriesValues(s, opts.iterations);
    const idx = scheduleSampleIndices(lr, opts.maxPoints ?? 2000, opts.jumpThreshold ?? 0.01);
    maxIteration = Math.max(maxIteration, lr.length - 1);
    return {
      type: 'scatter',
      mode: 'lines',
      name: s.name,
      x: idx,
      y: idx.map((i) => clean(lr[i])),
      line: { color: colors[s.name], width: 2, ...(s.dash ? { dash: s.dash } : {}) },
      hovertemplate: `${s.name}<br>iteration %{x}<br>lr %{y:.4g}<extra></extra>`,
    };
  });

  const layout: Record<string, unknown> = {
    title: { text: opts.title ?? 'Learning-rate schedules', yref: 'container', y: 0.97, yanchor: 'top' },
    xaxis: { title: { text: 'iteration (mini-batches)' }, range: [0, maxIteration], zeroline: false },
    yaxis: { title: { text: 'learning rate' }, type: opts.logY ? 'log' : 'linear', rangemode: opts.logY ? 'normal' : 'tozero', automargin: true },
    legend: { orientation: 'v', tracegroupgap: 6 },
    template: 'plotly_white',
    margin: { t: opts.iterationsPerEpoch ? 120 : 70 },
  };
  if (opts.width) layout.width = opts.width;
  if (opts.height) layout.height = opts.height;

  const ipe = opts.iterationsPerEpoch;
  if (ipe && ipe > 0 && maxIteration > 0) {
    const epochs = maxIteration / ipe;
    const step = Math.max(1, niceStep(epochs, 10));
    const tickvals: number[] = [];
    const ticktext: string[] = [];
    for (let e = 0; e <= epochs + 1e-9; e += step) {
      tickvals.push(clean(e * ipe));
      ticktext.push(String(clean(e)));
    }
    layout.xaxis2 = {
      title: { text: `epoch (${ipe} iterations per epoch)` },
      overlaying: 'x',
      side: 'top',
      range: [0, maxIteration],
      tickmode: 'array',
      tickvals,
      ticktext,
      showgrid: false,
      zeroline: false,
    };
    // An axis is only drawn when a trace uses it: an invisible helper trace on the epoch axis.
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: 'epoch axis',
      x: [0, maxIteration],
      y: [null, null],
      xaxis: 'x2',
      yaxis: 'y',
      showlegend: false,
      hoverinfo: 'skip',
      marker: { opacity: 0 },
    });
  }
  return { data, layout };
}
