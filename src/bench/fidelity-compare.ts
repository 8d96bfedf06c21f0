/**
 * The comparison of `npm run fidelity`: two sets of validation-accuracy curves (seeds x epochs), one
 * per trainer, compared epoch by epoch with Welch's t interval (workspace - PyTorch).
 */
import { welchTTest } from '../analysis/stats';
import { sampleMean, sampleVariance } from '../analysis/stats/moments';

/** Validation accuracy (fraction) per seed, per epoch (index 0 = epoch 1); a curve may be shorter (a run stopped early). */
export interface Curves {
  workspace: number[][];
  pytorch: number[][];
}

/** The comparison, in percentage points for differences; arrays are per compared epoch. */
export interface CurveComparison {
  /** Epochs compared: 1..epochs, each with at least 2 seeds on both sides. */
  epochs: number;
  /** Seeds (curves) per side. */
  seeds: { workspace: number; pytorch: number };
  /** Mean validation accuracy per epoch (fraction). */
  workspace: number[];
  pytorch: number[];
  /** Sample standard deviation over seeds per epoch (fraction). */
  workspaceSd: number[];
  pytorchSd: number[];
  /** workspace - pytorch, percentage points. */
  difference: number[];
  /** 95% Welch interval of the difference, percentage points. */
  ci95: [number, number][];
  /** Per epoch: the interval contains 0 or |difference| < 1 pp. */
  agreeByEpoch: boolean[];
  /** Every compared epoch agrees (and at least one epoch was compared). */
  agree: boolean;
  /** Mean over epochs of the difference, percentage points. */
  meanDifference: number;
}

/** Agreement margin: a difference under this many percentage points agrees whatever its interval. */
export const AGREEMENT_PP = 1;

const sd = (x: number[]) => Math.sqrt(sampleVariance(x));

/**
 * Compares the curves epoch by epoch (Welch's test of src/analysis/stats on percentages).
 * A side's seeds are its curves with at least one epoch (a seed of a study not started yet has none).
 * @throws Error when a side has fewer than 2 such curves
 */
export function compareCurves(c: Curves): CurveComparison {
  const seeds = { workspace: c.workspace.filter((x) => x.length > 0).length, pytorch: c.pytorch.filter((x) => x.length > 0).length };
  if (seeds.workspace < 2 || seeds.pytorch < 2) throw new Error(`fidelity needs at least 2 seeds per side, got ${seeds.workspace} and ${seeds.pytorch}`);
  const out: CurveComparison = {
    epochs: 0, seeds,
    workspace: [], pytorch: [], workspaceSd: [], pytorchSd: [], difference: [], ci95: [], agreeByEpoch: [], agree: false, meanDifference: NaN,
  };
  for (let e = 0; ; e++) {
    const a = c.workspace.filter((x) => x.length > e).map((x) => x[e]);
    const b = c.pytorch.filter((x) => x.length > e).map((x) => x[e]);
    if (a.length < 2 || b.length < 2) break;
    const w = welchTTest(a.map((x) => 100 * x), b.map((x) => 100 * x));
    out.epochs = e + 1;
    out.workspace.push(sampleMean(a)); out.pytorch.push(sampleMean(b));
    out.workspaceSd.push(sd(a)); out.pytorchSd.push(sd(b));
    out.difference.push(w.meanDifference);
    out.ci95.push([w.ci[0], w.ci[1]]);
    out.agreeByEpoch.push((w.ci[0] <= 0 && w.ci[1] >= 0) || Math.abs(w.meanDifference) < AGREEMENT_PP);
  }
  out.agree = out.epochs > 0 && out.agreeByEpoch.every(Boolean);
  out.meanDifference = out.epochs > 0 ? sampleMean(out.difference) : NaN;
  return out;
}

/** The table of a comparison: one line per epoch, then the verdict. */
export function formatComparison(r: CurveComparison): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const pp = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  if (r.epochs === 0) return [`nothing compared yet: no epoch has 2 seeds on both sides (workspace ${r.seeds.workspace}, PyTorch ${r.seeds.pytorch} curves)`];
  const lines = [`epoch | workspace val acc (sd), ${r.seeds.workspace} seeds | PyTorch val acc (sd), ${r.seeds.pytorch} seeds | difference pp [95% Welch CI] | agrees`];
  for (let e = 0; e < r.epochs; e++) {
    lines.push(`${String(e + 1).padStart(5)} | ${pct(r.workspace[e])} (${(100 * r.workspaceSd[e]).toFixed(2)}) | ${pct(r.pytorch[e])} (${(100 * r.pytorchSd[e]).toFixed(2)}) | ` +
      `${pp(r.difference[e])} [${pp(r.ci95[e][0])}, ${pp(r.ci95[e][1])}] | ${r.agreeByEpoch[e] ? 'yes' : 'NO'}`);
  }
  lines.push(r.agree
    ? `agree: every epoch's interval contains 0 or its difference is under ${AGREEMENT_PP} pp (mean difference ${pp(r.meanDifference)} pp)`
    : `DO NOT AGREE: ${r.agreeByEpoch.filter((x) => !x).length} of ${r.epochs} epochs differ beyond seed noise and ${AGREEMENT_PP} pp (mean difference ${pp(r.meanDifference)} pp)`);
  return lines;
}
