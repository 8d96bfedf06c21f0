/**
 * The comparison of `npm run fidelity`: two sets of validation-accuracy curves (seeds x epochs), one
 * per trainer (workspace - PyTorch), compared with Welch's t intervals:
 * - `agree`, issue 17's rule: every epoch's 95% interval contains 0 or its difference is under
 *   AGREEMENT_PP. With ten epochs, ten separate 95% intervals raise a false alarm up to 40% of the
 *   time when the trainers are the same (1 - 0.95^10 for independent epochs), so two more checks
 *   hold that rate at 5% each:
 * - `agreeSimultaneous`: every epoch by its simultaneous interval (Bonferroni: each at 1 - 0.05 / epochs);
 * - the curves' level: per seed, the mean validation accuracy over the compared epochs, one
 *   interval (a trainer that learns systematically faster or slower shows here).
 * `agreeControlled` is true when both of these agree (each may also agree by a difference under
 * AGREEMENT_PP whatever its interval).
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
  /** Seeds per side at each compared epoch (fewer than `seeds` where a curve is shorter: a run not that far yet, or stopped at its target). */
  seedsByEpoch: { workspace: number[]; pytorch: number[] };
  /** Mean validation accuracy per epoch (fraction). */
  workspace: number[];
  pytorch: number[];
  /** Sample standard deviation over seeds per epoch (fraction). */
  workspaceSd: number[];
  pytorchSd: number[];
  /** workspace - pytorch, percentage points. */
  difference: number[];
  /** 95% Welch interval of the difference, one epoch alone, percentage points. */
  ci95: [number, number][];
  /** Simultaneous 95% Welch interval over the compared epochs (each at 1 - 0.05 / epochs), percentage points. */
  ciSimultaneous: [number, number][];
  /** Per epoch: the 95% interval contains 0 or |difference| < 1 pp (issue 17's rule). */
  agreeByEpoch: boolean[];
  /** Per epoch: the simultaneous interval contains 0 or |difference| < 1 pp. */
  agreeSimultaneous: boolean[];
  /**
   * The curves' level: per seed with every compared epoch, the mean over those epochs (percent);
   * the Welch difference (pp), its 95% interval and p-value, and whether it agrees (null when a side
   * has fewer than 2 such seeds).
   */
  level: { workspace: number[]; pytorch: number[]; difference: number; ci95: [number, number]; p: number; agree: boolean } | null;
  /** Every compared epoch agrees by its 95% interval (at least one epoch compared): issue 17's rule. */
  agree: boolean;
  /** The level agrees (when there is one) and every epoch's simultaneous interval agrees (at least one epoch compared). */
  agreeControlled: boolean;
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
    epochs: 0, seeds, seedsByEpoch: { workspace: [], pytorch: [] },
    workspace: [], pytorch: [], workspaceSd: [], pytorchSd: [], difference: [], ci95: [], ciSimultaneous: [],
    agreeByEpoch: [], agreeSimultaneous: [], level: null, agree: false, agreeControlled: false, meanDifference: NaN,
  };
  const at = (curves: number[][], e: number) => curves.filter((x) => x.length > e).map((x) => 100 * x[e]);
  while (at(c.workspace, out.epochs).length >= 2 && at(c.pytorch, out.epochs).length >= 2) out.epochs++;
  const agrees = (ci: readonly number[], d: number) => (ci[0] <= 0 && ci[1] >= 0) || Math.abs(d) < AGREEMENT_PP;
  for (let e = 0; e < out.epochs; e++) {
    const a = at(c.workspace, e);
    const b = at(c.pytorch, e);
    const w = welchTTest(a, b);
    const simultaneous = welchTTest(a, b, { confidenceLevel: 1 - 0.05 / out.epochs });
    out.seedsByEpoch.workspace.push(a.length); out.seedsByEpoch.pytorch.push(b.length);
    out.workspace.push(sampleMean(a) / 100); out.pytorch.push(sampleMean(b) / 100);
    out.workspaceSd.push(sd(a) / 100); out.pytorchSd.push(sd(b) / 100);
    out.difference.push(w.meanDifference);
    out.ci95.push([w.ci[0], w.ci[1]]);
    out.ciSimultaneous.push([simultaneous.ci[0], simultaneous.ci[1]]);
    out.agreeByEpoch.push(agrees(w.ci, w.meanDifference));
    out.agreeSimultaneous.push(agrees(simultaneous.ci, w.meanDifference));
  }
  const levels = (curves: number[][]) => curves.filter((x) => x.length >= out.epochs).map((x) => sampleMean(x.slice(0, out.epochs).map((v) => 100 * v)));
  const la = levels(c.workspace);
  const lb = levels(c.pytorch);
  if (out.epochs > 0 && la.length >= 2 && lb.length >= 2) {
    const w = welchTTest(la, lb);
    out.level = { workspace: la, pytorch: lb, difference: w.meanDifference, ci95: [w.ci[0], w.ci[1]], p: w.p, agree: agrees(w.ci, w.meanDifference) };
  }
  out.agree = out.epochs > 0 && out.agreeByEpoch.every(Boolean);
  out.agreeControlled = out.epochs > 0 && out.agreeSimultaneous.every(Boolean) && (out.level?.agree ?? true);
  out.meanDifference = out.epochs > 0 ? sampleMean(out.difference) : NaN;
  return out;
}

/** The table of a comparison: one line per epoch (a side's mean says "n seeds" where fewer than its header's), then the verdict. */
export function formatComparison(r: CurveComparison): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const pp = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  if (r.epochs === 0) return [`nothing compared yet: no epoch has 2 seeds on both sides (workspace ${r.seeds.workspace}, PyTorch ${r.seeds.pytorch} curves)`];
  const ci = (x: readonly number[]) => `[${pp(x[0])}, ${pp(x[1])}]`;
  const mark = (x: boolean) => (x ? 'yes' : 'NO');
  const lines = [`epoch | workspace val acc (sd), ${r.seeds.workspace} seeds | PyTorch val acc (sd), ${r.seeds.pytorch} seeds | difference pp [95% Welch CI] | agrees | [simultaneous CI over ${r.epochs} epochs] | agrees`];
  const cell = (mean: number, sd: number, n: number, all: number) => `${pct(mean)} (${(100 * sd).toFixed(2)}${n < all ? `, ${n} seeds` : ''})`;
  for (let e = 0; e < r.epochs; e++) {
    lines.push(`${String(e + 1).padStart(5)} | ${cell(r.workspace[e], r.workspaceSd[e], r.seedsByEpoch.workspace[e], r.seeds.workspace)} | ` +
      `${cell(r.pytorch[e], r.pytorchSd[e], r.seedsByEpoch.pytorch[e], r.seeds.pytorch)} | ` +
      `${pp(r.difference[e])} ${ci(r.ci95[e])} | ${mark(r.agreeByEpoch[e])} | ${ci(r.ciSimultaneous[e])} | ${mark(r.agreeSimultaneous[e])}`);
  }
  const level = r.level;
  lines.push(level
    ? `level (each seed's mean over epochs 1-${r.epochs}): workspace ${level.workspace.map((x) => x.toFixed(2)).join(', ')}; PyTorch ${level.pytorch.map((x) => x.toFixed(2)).join(', ')}; `
      + `difference ${pp(level.difference)} pp ${ci(level.ci95)}, p = ${level.p.toFixed(3)}: ${level.agree ? 'agrees' : 'DIFFERS'}`
    : `level: not compared (fewer than 2 seeds per side with all ${r.epochs} epochs)`);
  const off = r.agreeSimultaneous.filter((x) => !x).length;
  lines.push(r.agreeControlled
    ? `false alarms held at 5% per check: agree (the level, and every epoch by its simultaneous interval)`
    : `false alarms held at 5% per check: DO NOT AGREE (${[level && !level.agree ? 'the level differs' : '', off ? `${off} of ${r.epochs} epochs differ by their simultaneous intervals` : ''].filter(Boolean).join(', ')})`);
  lines.push(r.agree
    ? `agree: every epoch's interval contains 0 or its difference is under ${AGREEMENT_PP} pp (mean difference ${pp(r.meanDifference)} pp)`
    : `DO NOT AGREE: ${r.agreeByEpoch.filter((x) => !x).length} of ${r.epochs} epochs differ beyond seed noise and ${AGREEMENT_PP} pp (mean difference ${pp(r.meanDifference)} pp)`);
  return lines;
}
