/**
 * Run configuration: everything that defines a training run. Two runs whose configurations differ
 * only in the seed belong to the same arm and may be pooled.
 */
import * as crypto from 'node:crypto';
import { constantLr, type LearningRateSchedule } from '../schedules/constant';
import { stepDecay } from '../schedules/step';
import { cosineAnnealingWarmRestarts, fastaiWarmup } from '../schedules/cosine';

/** Learning-rate schedule of a run, serialisable. Cycle lengths are in epochs, milestones in iterations. */
export type ScheduleSpec =
  | { kind: 'constant'; lr: number }
  | { kind: 'step'; lr: number; milestones: number[]; gamma: number }
  | { kind: 'cosine'; lrMax: number; lrMin: number; cycleLengthEpochs: number; cycleMult: number; warmup: 'fastai' | null };

export const SCHEDULE_KINDS = ['constant', 'step', 'cosine'] as const;

export interface DataSpec {
  /** Dataset name from its manifest ('cifar-10' or 'cifar-10-subset'). */
  dataset: string;
  /** Images held out from the training files for validation (5,000 for the full set). */
  validationCount: number;
  /** Seed of the train/validation split (shared by all runs of a protocol). */
  splitSeed: number;
  /** Fraction of the remaining training images used (1 = all). */
  trainFraction: number;
  /** Test images used (null = all). */
  testCount: number | null;
}

export interface RunConfig {
  protocol: string;
  arm: string;
  seed: number;
  /** ResNet depth 6n+2. */
  depth: number;
  batchSize: number;
  maxEpochs: number;
  /** Validation-accuracy target in (0, 1], or null. */
  target: number | null;
  /** Stop the run the first epoch validation accuracy >= target (else only record when it was reached). */
  stopAtTarget: boolean;
  schedule: ScheduleSpec;
  momentum: number;
  weightDecay: number;
  bnMomentum: number;
  bnEpsilon: number;
  augment: boolean;
  data: DataSpec;
}

/** Error in a run configuration: names the field and value. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Checks a configuration.
 * @returns warnings (e.g. a cycle longer than the run)
 * @throws ConfigError naming the first bad field
 */
export function validateRunConfig(c: RunConfig): string[] {
  const warnings: string[] = [];
  const pos = (name: string, v: number, integer = false) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      throw new ConfigError(`${name} must be ${integer ? 'an integer' : 'a number'} > 0, got ${String(v)}`);
    }
  };
  pos('batchSize', c.batchSize, true);
  pos('maxEpochs', c.maxEpochs, true);
  if (!Number.isInteger(c.depth) || c.depth < 8 || (c.depth - 2) % 6 !== 0) throw new ConfigError(`depth must be 6n+2 (20, 32, 44, 56, 110), got ${c.depth}`);
  if (c.target !== null && !(c.target > 0 && c.target <= 1)) throw new ConfigError(`target must be in (0, 1], got ${String(c.target)}`);
  if (!Number.isInteger(c.seed) || c.seed < 0) throw new ConfigError(`seed must be an integer >= 0, got ${String(c.seed)}`);
  if (!(c.data.trainFraction > 0 && c.data.trainFraction <= 1)) throw new ConfigError(`trainFraction must be in (0, 1], got ${String(c.data.trainFraction)}`);
  const s = c.schedule;
  switch (s.kind) {
    case 'constant': pos('schedule.lr', s.lr); break;
    case 'step': pos('schedule.lr', s.lr); pos('schedule.gamma', s.gamma); break;
    case 'cosine':
      pos('schedule.lrMax', s.lrMax);
      pos('schedule.cycleLengthEpochs', s.cycleLengthEpochs, true);
      pos('schedule.cycleMult', s.cycleMult, true);
      if (s.cycleLengthEpochs > c.maxEpochs) {
        warnings.push(`${c.arm}: cycle length ${s.cycleLengthEpochs} epochs is longer than the run (${c.maxEpochs} epochs); the learning rate never restarts`);
      }
      break;
    default:
      throw new ConfigError(`unknown schedule kind "${(s as { kind: string }).kind}"; expected ${SCHEDULE_KINDS.join(', ')}`);
  }
  return warnings;
}

/**
 * Turns a schedule spec into a function of the iteration.
 * @param iterationsPerEpoch ceil(training images / batch size)
 */
export function buildSchedule(spec: ScheduleSpec, iterationsPerEpoch: number): LearningRateSchedule {
  switch (spec.kind) {
    case 'constant': return constantLr({ lr: spec.lr });
    case 'step': return stepDecay({ lr: spec.lr, milestones: spec.milestones, gamma: spec.gamma });
    case 'cosine': {
      const cycleLength = spec.cycleLengthEpochs * iterationsPerEpoch;
      return cosineAnnealingWarmRestarts({
        lrMax: spec.lrMax, lrMin: spec.lrMin, cycleLength, cycleMult: spec.cycleMult,
        warmup: spec.warmup === 'fastai' ? fastaiWarmup(cycleLength) : undefined,
      });
    }
    default:
      throw new ConfigError(`unknown schedule kind "${(spec as { kind: string }).kind}"`);
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Hash of everything in a configuration except the seed (12 hex digits): runs with equal hashes may be pooled. */
export function configHash(c: RunConfig): string {
  const { seed: _seed, ...rest } = c;
  return crypto.createHash('sha256').update(canonical(rest)).digest('hex').slice(0, 12);
}

/** Stable run id: protocol, arm, seed and configuration hash. */
export function runId(c: RunConfig): string {
  return `${c.protocol}/${c.arm}/seed-${c.seed}/${configHash(c)}`;
}
