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
  /**
   * Replicas (worker threads) of the data-parallel trainer (src/train/parallel.ts) that train this
   * run; absent or 1: the single-threaded trainStep. The thread count changes float summation order,
   * so a run is reproducible bit for bit for a given count; it is recorded with the run (its stored
   * configuration and its checkpoints) but, like the backend, it is not part of the run's identity:
   * configHash and runId leave it out (and a configuration with threads 1 omits the field).
   */
  threads?: number;
}

/** Error in a run configuration: names the field and value. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Upper bounds that a real study never reaches (the paper's study: 2-3 arms, 10-20 seeds, 182 epochs,
 * batch 128, 50,000 images). They turn a typo such as `--seeds 1000000000` into a one-line error
 * before anything is allocated. Checked by the CLI, protocol files, expandProtocol and validateRunConfig.
 */
export const LIMITS = {
  /** Seeds per arm (seed values 0..seeds-1). */
  seeds: 10_000,
  /** Epochs of one run. */
  maxEpochs: 100_000,
  /** Images per batch. */
  batchSize: 65_536,
  /** Worker processes of one invocation. */
  workers: 1_024,
  /** validationCount / testCount (images). */
  images: 1_000_000,
  /** Arms of one protocol. */
  arms: 100,
  /** Runs of one protocol (arms x seeds). */
  runs: 100_000,
  /** ResNet depth (ResNet-1202, He et al. 2015, section 4.2, is the deepest CIFAR ResNet). */
  depth: 1202,
  /** Cosine cycle multiplier. */
  cycleMult: 1_000,
  /** Step milestones (iterations): a safe integer bound. */
  milestone: 1e12,
  /** Worker threads of one run (the data-parallel trainer's replicas). */
  threads: 256,
} as const;

/**
 * Training images a run uses: round(trainFraction x (training-file images - validationCount)), the
 * first of the images left after the validation split (the rule of prepareRunData).
 * @param trainFileCount images in the training files (50,000 for the full set)
 * @param validationCount images held out for validation
 * @param trainFraction fraction in (0, 1]
 */
export function trainImagesUsed(trainFileCount: number, validationCount: number, trainFraction: number): number {
  return Math.round((trainFileCount - validationCount) * trainFraction);
}

/**
 * Checks a configuration: every field's type and range, including the upper bounds of LIMITS.
 * @returns warnings (e.g. a cycle longer than the run)
 * @throws ConfigError naming the first bad field and its value, e.g. `batchSize must be at most 65536, got 100000`
 */
export function validateRunConfig(c: RunConfig): string[] {
  const warnings: string[] = [];
  const pos = (name: string, v: number, integer = false, max = Infinity) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      throw new ConfigError(`${name} must be ${integer ? 'an integer' : 'a number'} > 0, got ${String(v)}`);
    }
    if (v > max) throw new ConfigError(`${name} must be at most ${max}, got ${String(v)}`);
  };
  pos('batchSize', c.batchSize, true, LIMITS.batchSize);
  pos('maxEpochs', c.maxEpochs, true, LIMITS.maxEpochs);
  if (!Number.isInteger(c.depth) || c.depth < 8 || (c.depth - 2) % 6 !== 0) throw new ConfigError(`depth must be 6n+2 (20, 32, 44, 56, 110), got ${c.depth}`);
  if (c.depth > LIMITS.depth) throw new ConfigError(`depth must be at most ${LIMITS.depth}, got ${c.depth}`);
  if (c.target !== null && !(c.target > 0 && c.target <= 1)) throw new ConfigError(`target must be in (0, 1], got ${String(c.target)}`);
  if (!Number.isInteger(c.seed) || c.seed < 0) throw new ConfigError(`seed must be an integer >= 0, got ${String(c.seed)}`);
  if (c.seed >= LIMITS.seeds) throw new ConfigError(`seed must be less than ${LIMITS.seeds}, got ${c.seed}`);
  if (!(c.momentum >= 0 && c.momentum < 1)) throw new ConfigError(`momentum must be in [0, 1), got ${String(c.momentum)}`);
  if (!(c.weightDecay >= 0 && Number.isFinite(c.weightDecay))) throw new ConfigError(`weightDecay must be a number >= 0, got ${String(c.weightDecay)}`);
  if (!(c.bnMomentum > 0 && c.bnMomentum <= 1)) throw new ConfigError(`bnMomentum must be in (0, 1], got ${String(c.bnMomentum)}`);
  pos('bnEpsilon', c.bnEpsilon);
  if (c.threads !== undefined) pos('threads', c.threads, true, LIMITS.threads);
  if (!(c.data.trainFraction > 0 && c.data.trainFraction <= 1)) throw new ConfigError(`trainFraction must be in (0, 1], got ${String(c.data.trainFraction)}`);
  pos('data.validationCount', c.data.validationCount, true, LIMITS.images);
  if (c.data.testCount !== null) pos('data.testCount', c.data.testCount, true, LIMITS.images);
  if (!Number.isSafeInteger(c.data.splitSeed) || c.data.splitSeed < 0) throw new ConfigError(`data.splitSeed must be an integer >= 0, got ${String(c.data.splitSeed)}`);
  const s = c.schedule;
  switch (s.kind) {
    case 'constant': pos('schedule.lr', s.lr); break;
    case 'step':
      pos('schedule.lr', s.lr); pos('schedule.gamma', s.gamma);
      if (!Array.isArray(s.milestones) || s.milestones.some((m, i) => !Number.isInteger(m) || m < 1 || m > LIMITS.milestone || (i > 0 && m <= s.milestones[i - 1]))) {
        throw new ConfigError(`schedule.milestones must be strictly increasing integers in 1..${LIMITS.milestone} (iterations), got ${JSON.stringify(s.milestones)}`);
      }
      break;
    case 'cosine':
      pos('schedule.lrMax', s.lrMax);
      if (!(s.lrMin >= 0 && s.lrMin < s.lrMax)) throw new ConfigError(`schedule.lrMin must be a number >= 0 and < lrMax (${s.lrMax}), got ${String(s.lrMin)}`);
      pos('schedule.cycleLengthEpochs', s.cycleLengthEpochs, true, LIMITS.maxEpochs);
      pos('schedule.cycleMult', s.cycleMult, true, LIMITS.cycleMult);
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

/**
 * Hash of everything in a configuration except the seed and the thread count (12 hex digits): runs
 * with equal hashes may be pooled. The thread count is left out like the backend: it changes only
 * float rounding, and a run keeps its identity (and its stored epochs and checkpoint) whatever the
 * number of cores that trains it.
 */
export function configHash(c: RunConfig): string {
  const rest: Record<string, unknown> = { ...c };
  for (const k of OUTSIDE_HASH) delete rest[k];
  return crypto.createHash('sha256').update(canonical(rest)).digest('hex').slice(0, 12);
}

/** Fields of a run configuration that are not part of its configuration hash (what may be pooled). */
export const OUTSIDE_HASH: readonly string[] = ['seed', 'threads'];

/** Threads of a configuration: its `threads` field, 1 when absent. */
export function threadsOf(c: RunConfig): number {
  return c.threads ?? 1;
}

/**
 * The configuration trained with `threads` threads: the field set when > 1, omitted when 1 (so a
 * single-threaded run's stored configuration is exactly what it was before the option existed).
 */
export function withThreads(c: RunConfig, threads: number): RunConfig {
  const { threads: _t, ...rest } = c;
  return threads === 1 ? rest : { ...rest, threads };
}

/** Stable run id: protocol, arm, seed and configuration hash. */
export function runId(c: RunConfig): string {
  return `${c.protocol}/${c.arm}/seed-${c.seed}/${configHash(c)}`;
}
