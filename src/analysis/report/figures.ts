/**
 * The report's figures for what a results store contains: per protocol, the learning-rate
 * schedules of its arms, validation accuracy per epoch, time to target (epochs and seconds),
 * Kaplan–Meier curves (epochs and seconds) and final test error.
 */
import { PROTOCOLS } from '../../runs/protocols';
import type { EpochRecord, RunRecord } from '../../store/types';
import { buildSchedule, type ScheduleSpec } from '../../train/config';
import { kaplanMeierFigure, type KaplanMeierCurveInput } from '../charts/kaplanMeier';
import { scheduleFigure, type ScheduleSeries } from '../charts/schedule';
import { testErrorFigure } from '../charts/testError';
import { timeToTargetFigure } from '../charts/timeToTarget';
import type { PlotlyFigure } from '../charts/types';
import { validationCurvesFigure } from '../charts/validation';
import {
  analyzeProtocol, armIterationsPerEpoch, FULL_SET_ITERATIONS_PER_EPOCH, inTrainingCaveat, isFinished, stillTrainingRuns, originalStudyErrors, PAPER_TEST_ERROR, protocolDeviations, protocolOrder,
  targetPercent as pct, type ProtocolAnalysis,
} from '../model';

export { armCycleLength } from '../model';

/** One figure of the report. */
export interface ReportFigure {
  /** File base name (no extension), e.g. `race-to-85-validation`. */
  name: string;
  protocol: string;
  /** What it shows, one line (used as the report's caption). */
  caption: string;
  figure: PlotlyFigure;
  /**
   * When the runs deviate from their protocol's setup (fewer epochs, other data, ...): the caveat
   * put on the first line of the figure's subtitle and at the end of the caption; else null.
   */
  caveat: string | null;
}

/**
 * Puts `caveat` on the first line of a figure's subtitle (`layout.title.subtitle.text`), keeping the
 * figure's own explanation below it, and makes room for the extra line (top margin).
 */
export function addSubtitleCaveat(fig: PlotlyFigure, caveat: string): PlotlyFigure {
  const title = (typeof fig.layout.title === 'object' && fig.layout.title !== null ? fig.layout.title : { text: String(fig.layout.title ?? '') }) as Record<string, unknown>;
  const sub = (title.subtitle ?? {}) as { text?: string };
  const text = sub.text ? `⚠ ${caveat}<br>${sub.text}` : `⚠ ${caveat}`;
  const lines = text.split('<br>').length;
  const margin = (fig.layout.margin ?? {}) as Record<string, unknown>;
  return {
    ...fig,
    layout: {
      ...fig.layout,
      title: { ...title, subtitle: { ...sub, text } },
      margin: { ...margin, t: Math.max(typeof margin.t === 'number' ? margin.t + 18 : 0, 70 + 18 * lines) },
    },
  };
}

/**
 * The figures of one protocol's runs. A protocol whose runs are all still training (no finished
 * run) gets its progress only, the schedules and validation accuracy so far, each carrying the
 * caveat of {@link inTrainingCaveat} (which runs are at which epoch).
 */
export function protocolFigures(protocol: string, runs: readonly RunRecord[], epochs: readonly EpochRecord[], analysis: ProtocolAnalysis = analyzeProtocol(protocol, [...runs], epochs)): ReportFigure[] {
  const pr = runs.filter((r) => r.protocol === protocol);
  if (pr.length === 0) return [];
  const spec = PROTOCOLS[protocol];
  const armOrder = spec ? spec.arms.map((a) => a.name) : undefined;
  const arms = [...new Set(pr.map((r) => r.arm))].sort((a, b) => (armOrder ? armOrder.indexOf(a) - armOrder.indexOf(b) : a.localeCompare(b)));
  const targets = [...new Set(pr.map((r) => r.target).filter((t): t is number => t !== null))];
  const target = targets.length === 1 ? targets[0] : null;
  const ids = new Set(pr.map((r) => r.runId));
  const ep = epochs.filter((e) => ids.has(e.runId));
  const out: ReportFigure[] = [];
  const common = { arms: armOrder, width: 1000, height: 560 };
  const inTraining = inTrainingCaveat(analysis);
  const caveat = [protocolDeviations(protocol, pr).caveat, inTraining].filter((c): c is string => c !== null).join('; ') || null;
  // finished runs beside runs still training: the figures that show the latter partly or not at all say so
  const stillTraining = stillTrainingRuns(analysis);

  // Learning-rate schedules of the arms, over the protocol's epoch budget.
  const series: ScheduleSeries[] = [];
  let ipe = FULL_SET_ITERATIONS_PER_EPOCH;
  let maxEpochs = 1;
  for (const arm of arms) {
    const armRuns = pr.filter((r) => r.arm === arm);
    const cfg = armRuns[0].config as { schedule?: ScheduleSpec; maxEpochs?: number };
    if (!cfg.schedule) continue;
    ipe = armIterationsPerEpoch(armRuns.map((r) => r.runId), ep);
    maxEpochs = Math.max(maxEpochs, cfg.maxEpochs ?? 1);
    series.push({ name: arm, schedule: buildSchedule(cfg.schedule, ipe), iterations: (cfg.maxEpochs ?? 1) * ipe });
  }
  if (series.length) {
    out.push({
      caveat: null,
      name: `${protocol}-schedules`, protocol,
      caption: `Learning rate per iteration of each arm over the ${maxEpochs}-epoch budget (${ipe} iterations per epoch)`,
      figure: scheduleFigure(series, { title: `${protocol}: learning-rate schedules of the arms`, iterationsPerEpoch: ipe, width: 1000, height: 520 }),
    });
  }
  out.push({
    caveat: stillTraining && `${stillTraining} (its curve ends at that epoch)`,
    name: `${protocol}-validation`, protocol,
    caption: 'Validation accuracy per epoch: every run, the per-arm median and interquartile band (a run that stopped counts at its last validation accuracy)' + (target !== null ? `, and the ${pct(target)} target` : ''),
    figure: validationCurvesFigure(ep, pr, { ...common, target, title: `${protocol}: validation accuracy per epoch` }),
  });
  if (target !== null && inTraining === null) {
    for (const metric of ['epochs', 'seconds'] as const) {
      out.push({
        caveat: null,
        name: `${protocol}-time-to-target-${metric}`, protocol,
        caption: `${metric === 'epochs' ? 'Epochs' : 'Training seconds'} to ${pct(target)} validation accuracy per run (boxes: runs that reached it; open triangles: censored runs, lower bounds)`,
        figure: timeToTargetFigure(pr, { ...common, metric, epochs: ep, target, title: `${protocol}: ${metric === 'epochs' ? 'epochs' : 'training seconds'} to ${pct(target)} validation accuracy` }),
      });
    }
    for (const metric of ['epochs', 'seconds'] as const) {
      // the model's Kaplan–Meier estimates (computed once in analyzeProtocol), drawn per arm
      const curves: KaplanMeierCurveInput[] = analysis.arms
        .map((a) => ({ arm: a.arm, km: metric === 'epochs' ? a.kmEpochs : a.kmSeconds }))
        .filter((x) => x.km !== null && x.km.n > 0)
        .map((x) => ({ arm: x.arm, ...x.km!.curve }));
      if (curves.length === 0) continue;
      out.push({
        caveat: null,
        name: `${protocol}-kaplan-meier-${metric}`, protocol,
        caption: `Kaplan–Meier estimate of the fraction of runs not yet at ${pct(target)} vs ${metric === 'epochs' ? 'epochs' : 'training seconds'}, 95% pointwise band; ticks: censored runs`,
        figure: kaplanMeierFigure(curves, { ...common, target, timeLabel: metric === 'epochs' ? 'epochs' : 'training seconds', title: `${protocol}: Kaplan–Meier, runs not yet at ${pct(target)} (${metric})` }),
      });
    }
  }
  if (inTraining === null && pr.some((r) => r.finalTestAccuracy !== null)) {
    const originalStudy = originalStudyErrors(arms, pr);
    const stops = spec?.stopAtTarget ?? (pr[0].config as { stopAtTarget?: boolean }).stopAtTarget;
    out.push({
      caveat: stillTraining && `${stillTraining} (not in this figure until it finishes)`,
      name: `${protocol}-test-error`, protocol,
      caption: `Final test error per run, arm means with 95% t intervals, the ResNet paper's ${pct(PAPER_TEST_ERROR)}` +
        (Object.keys(originalStudy).length ? ' and the original study\'s means' : '') + (stops ? ' (runs stopped at the target, so this is the error at that point)' : ''),
      figure: testErrorFigure(pr.filter((r) => isFinished(r) && r.status !== 'diverged'), {
        ...common, originalStudy, title: `${protocol}: final test error of ResNet-20${stops ? ' (at the stop)' : ''}`,
      }),
    });
  }
  // Runs that deviate from the protocol's setup, or are all still training: every figure says so
  // (the schedules figure too: its epoch budget is the runs', not the protocol's).
  return out.map((f) => {
    const c = [caveat, f.caveat].filter((x): x is string => x !== null).join('; ');
    return c ? { ...f, caveat: c, caption: `${f.caption} (${c})`, figure: addSubtitleCaveat(f.figure, c) } : f;
  });
}

/**
 * All figures of the report for the runs given (every protocol they contain, known protocols first).
 * @param runs runs from loadResults
 * @param epochs their epoch records
 */
export function reportFigures(runs: readonly RunRecord[], epochs: readonly EpochRecord[], analyses?: readonly ProtocolAnalysis[]): ReportFigure[] {
  return protocolOrder(runs.map((r) => r.protocol)).flatMap((p) => protocolFigures(p, runs, epochs, analyses?.find((a) => a.protocol === p)));
}
