import type { LearningRateSchedule } from './constant';
import { checkIteration, requireNonNegative, requirePositive, requirePositiveInteger } from './validate';

/** Warm-up: the first `iterations` iterations use lrMax * factor instead of the cosine. */
export interface Warmup {
  iterations: number;
  factor: number;
}

/**
 * fastai 0.7's SGDR start (CosAnneal.calc_lr): while the global iteration < cycleLength/20 the
 * learning rate is lr/100; the cosine position keeps advancing underneath.
 * @param cycleLength first cycle's length in iterations
 * @returns { iterations: ceil(cycleLength / 20), factor: 0.01 }
 */
export function fastaiWarmup(cycleLength: number): Warmup {
  requirePositiveInteger('cycleLength', cycleLength);
  return { iterations: Math.ceil(cycleLength / 20), factor: 0.01 };
}

export interface CosineAnnealingWarmRestartsOptions {
  /** Learning rate at the start of each cycle (PyTorch: the optimizer's base lr). */
  lrMax: number;
  /** Minimum learning rate (PyTorch: eta_min). Default 0. */
  lrMin?: number;
  /** Length of the first cycle in iterations (PyTorch: T_0). */
  cycleLength: number;
  /** Factor by which each cycle is longer than the previous one, integer >= 1 (PyTorch: T_mult). Default 1. */
  cycleMult?: number;
  /** Optional warm-up replacing the learning rate of the first iterations (fastai's SGDR start). */
  warmup?: Warmup;
}

/**
 * Cosine annealing with warm restarts, SGDR (Loshchilov & Hutter 2017, eq. 5):
 * lr = lrMin + (lrMax - lrMin) * (1 + cos(pi * Tcur / Ti)) / 2, where Tcur counts iterations since
 * the last restart and Ti = cycleLength * cycleMult^k is the length of the current (k-th) cycle.
 * Without warm-up it equals PyTorch's `CosineAnnealingWarmRestarts(T_0=cycleLength,
 * T_mult=cycleMult, eta_min=lrMin)` stepped once per iteration (same expression, same operation order).
 * With `warmup`, iterations < warmup.iterations use lrMax * warmup.factor (fastai 0.7 CosAnneal).
 * @throws RangeError on lrMax <= 0, lrMin < 0 or >= lrMax, cycleLength/cycleMult not integers >= 1,
 *   or a warm-up with negative iterations or a factor <= 0.
 */
export function cosineAnnealingWarmRestarts(options: CosineAnnealingWarmRestartsOptions): LearningRateSchedule {
  const { lrMax, cycleLength } = options;
  const lrMin = options.lrMin ?? 0;
  const cycleMult = options.cycleMult ?? 1;
  requirePositive('lrMax', lrMax);
  requireNonNegative('lrMin', lrMin);
  if (lrMin >= lrMax) throw new RangeError(`lrMin must be < lrMax, got lrMin=${lrMin}, lrMax=${lrMax}`);
  requirePositiveInteger('cycleLength', cycleLength);
  requirePositiveInteger('cycleMult', cycleMult);
  const warmup = options.warmup;
  if (warmup) {
    if (!Number.isInteger(warmup.iterations) || warmup.iterations < 0) {
      throw new RangeError(`warmup.iterations must be an integer >= 0, got ${String(warmup.iterations)}`);
    }
    requirePositive('warmup.factor', warmup.factor);
  }
  return (iteration: number) => {
    checkIteration(iteration);
    if (warmup && iteration < warmup.iterations) return lrMax * warmup.factor;
    let tCur: number;
    let tI: number;
    if (cycleMult === 1) {
      tCur = iteration % cycleLength;
      tI = cycleLength;
    } else {
      tCur = iteration;
      tI = cycleLength;
      while (tCur >= tI) {
        tCur -= tI;
        tI *= cycleMult;
      }
    }
    return lrMin + (lrMax - lrMin) * (1 + Math.cos((Math.PI * tCur) / tI)) / 2;
  };
}

/**
 * Iterations at which each cycle of cosineAnnealingWarmRestarts restarts (0 included), up to `total`.
 * @returns ascending iterations < total
 */
export function restartIterations(cycleLength: number, cycleMult: number, total: number): number[] {
  requirePositiveInteger('cycleLength', cycleLength);
  requirePositiveInteger('cycleMult', cycleMult);
  const out: number[] = [];
  for (let start = 0, len = cycleLength; start < total; start += len, len *= cycleMult) out.push(start);
  return out;
}
