/**
 * Named experiment protocols of the study "How to train your neural network" (2018), expanded into
 * lists of run configurations.
 *
 * - race-to-85: the ResNet paper's step schedule vs SGDR (cycle 1 epoch, multiplier 1, lr 0.1, fastai
 *   warm-up); 20 seeds each; stop at validation accuracy 0.85; at most 90 epochs. Within 90 epochs
 *   (31,680 iterations) the step schedule never reaches its first milestone (32k), so this arm
 *   trains at the constant learning rate 0.1, the "constant" arm of the original write-up.
 * - full-182: SGDR with cycle lengths 7 and 14 epochs and the step schedule; 10 seeds each; 182
 *   epochs (64,064 iterations ~ the paper's 64k); epochs to 0.85 recorded without stopping.
 * - quick: the race arms on the embedded subset, sized for `npm start` on 2 cores.
 */
import { RESNET_PAPER_STEP } from '../schedules/step';
import { ConfigError, LIMITS, trainImagesUsed, validateRunConfig, type RunConfig, type ScheduleSpec } from '../train/config';

export interface ArmSpec {
  name: string;
  schedule: ScheduleSpec;
  description: string;
}

export interface ProtocolSpec {
  name: string;
  description: string;
  arms: ArmSpec[];
  seeds: number;
  maxEpochs: number;
  target: number | null;
  stopAtTarget: boolean;
  trainFraction: number;
  /**
   * Validation images: 'tenth' = a tenth of the training files; a number is used on the full set, and on
   * smaller data (< 50,000 training-file images) replaced by a tenth with a `warning:` line, unless
   * validationCountGiven (a protocol file's explicit value: used as given, an error when the data has too few images).
   */
  validationCount: number | 'tenth';
  /** True when validationCount is the user's explicit value (protocol files); see validationCount. */
  validationCountGiven?: boolean;
  /** The protocol file this protocol was read from (named in errors), if any. */
  file?: string;
  testCount: number | null;
  /** Data this protocol is meant for: 'any' uses the located data, 'embedded' forces the embedded subset. */
  data: 'any' | 'embedded';
  notes: string[];
}

const STEP: ArmSpec = {
  name: 'step',
  schedule: { kind: 'step', lr: RESNET_PAPER_STEP.lr, milestones: [...RESNET_PAPER_STEP.milestones], gamma: RESNET_PAPER_STEP.gamma },
  description: 'He et al. 2015: lr 0.1, divided by 10 at 32k and 48k iterations',
};
const cosine = (cycle: number, name = `cosine-${cycle}`): ArmSpec => ({
  name,
  schedule: { kind: 'cosine', lrMax: 0.1, lrMin: 0, cycleLengthEpochs: cycle, cycleMult: 1, warmup: 'fastai' },
  description: `SGDR: cosine from 0.1 to 0, restart every ${cycle} epoch${cycle > 1 ? 's' : ''}, fastai warm-up (lr/100 for the first 1/20 of the first cycle)`,
});

export const PROTOCOLS: Record<string, ProtocolSpec> = {
  'race-to-85': {
    name: 'race-to-85',
    description: 'Epochs and seconds to 85% validation accuracy: step (paper) vs SGDR cycle 1 epoch',
    arms: [STEP, cosine(1, 'cosine')],
    seeds: 20, maxEpochs: 90, target: 0.85, stopAtTarget: true,
    trainFraction: 1, validationCount: 5000, testCount: null, data: 'any',
    notes: ['runs that do not reach 0.85 in 90 epochs are saved as censored at epoch 90'],
  },
  'full-182': {
    name: 'full-182',
    description: 'Test error after 182 epochs: SGDR cycle 7 and 14 epochs vs the paper step schedule (paper: 8.75%)',
    arms: [cosine(7), cosine(14), STEP],
    seeds: 10, maxEpochs: 182, target: 0.85, stopAtTarget: false,
    trainFraction: 1, validationCount: 5000, testCount: null, data: 'any',
    notes: ['epochs to 0.85 are recorded without stopping'],
  },
  quick: {
    name: 'quick',
    description: 'The race arms on the embedded real CIFAR-10 subset, small enough for npm start on 2 cores',
    arms: [STEP, cosine(1, 'cosine')],
    seeds: 5, maxEpochs: 6, target: 0.3, stopAtTarget: true,
    trainFraction: 0.5, validationCount: 500, testCount: 500, data: 'embedded',
    notes: [
      'target 0.30 instead of 0.85: ResNet-20 trained on 2,250 images for at most 6 epochs (5 seeds per arm, so that ' +
      'the Welch and log-rank comparisons can be computed, in a few minutes on 2 cores) reaches roughly 30-40% validation accuracy, far below 85% (the full set ' +
      'needs ~20-30 epochs of 45,000 images); with 0.30 most runs reach the target, so time to target has events to compare',
    ],
  },
};

/** User overrides of a protocol. */
export interface ProtocolOverrides {
  seeds?: number;
  maxEpochs?: number;
  trainFraction?: number;
  target?: number | null;
  arms?: string[];
  batchSize?: number;
}

/**
 * Looks up a protocol. @throws ConfigError naming the unknown protocol and the known ones
 */
export function getProtocol(name: string): ProtocolSpec {
  const p = PROTOCOLS[name];
  if (!p) throw new ConfigError(`unknown protocol "${name}"; expected one of ${Object.keys(PROTOCOLS).join(', ')}`);
  return p;
}

/**
 * Expands a protocol to its runs: every arm x seeds 0..seeds-1 (the same seeds in every arm, so arms
 * share initial weights and data order seed by seed). Everything is checked before anything is
 * allocated: the bounds of LIMITS (seeds <= 10,000, maxEpochs <= 100,000, batch <= 65,536, ...), the
 * arms, and the image counts against the data: more validation images than the training files hold,
 * more test images than there are, or a trainFraction leaving fewer than 2 training images are
 * errors; a built-in validationCount adapted to smaller data, or a batch larger than the training
 * images (one batch per epoch), give warnings. Nothing is clamped silently.
 * @param dataset name of the located dataset's manifest ('cifar-10', 'cifar-10-subset')
 * @param trainFileCount images in the dataset's training files (50,000 for the full set)
 * @param testFileCount images in the dataset's test file (10,000 for the full set); when given, testCount is checked against it
 * @returns configurations and warnings (without the `warning:` prefix)
 * @throws ConfigError on bad overrides or counts (named, with the value and the limit), unknown arms or an empty arm list
 */
export function expandProtocol(protocol: ProtocolSpec, dataset: string, trainFileCount: number, overrides: ProtocolOverrides = {}, testFileCount?: number): { runs: RunConfig[]; warnings: string[] } {
  const from = protocol.file ? `${protocol.file}: ` : '';
  const seeds = overrides.seeds ?? protocol.seeds;
  if (!Number.isInteger(seeds) || seeds < 1) throw new ConfigError(`seeds must be an integer >= 1, got ${String(seeds)}`);
  if (seeds > LIMITS.seeds) throw new ConfigError(`seeds must be at most ${LIMITS.seeds} (a real study never needs more), got ${seeds}`);
  let arms = protocol.arms;
  if (overrides.arms) {
    if (overrides.arms.length === 0) throw new ConfigError(`the arm list names no arm; expected some of ${protocol.arms.map((x) => x.name).join(', ')}`);
    for (const a of overrides.arms) {
      if (!protocol.arms.some((x) => x.name === a)) {
        throw new ConfigError(`unknown arm "${a}" for protocol ${protocol.name}; expected ${protocol.arms.map((x) => x.name).join(', ')}`);
      }
    }
    arms = protocol.arms.filter((x) => overrides.arms!.includes(x.name));
  }
  if (arms.length === 0) throw new ConfigError(`protocol ${protocol.name} has no arm`);
  if (arms.length > LIMITS.arms) throw new ConfigError(`${from}protocol ${protocol.name} has ${arms.length} arms; at most ${LIMITS.arms}`);
  if (arms.length * seeds > LIMITS.runs) throw new ConfigError(`${from}${arms.length} arms x ${seeds} seeds is ${arms.length * seeds} runs; at most ${LIMITS.runs}`);
  const warnings = new Set<string>();

  // image counts against the data
  if (!Number.isInteger(trainFileCount) || trainFileCount < 3) throw new ConfigError(`dataset ${dataset} has ${trainFileCount} training-file images; at least 3 are needed`);
  const v = protocol.validationCount;
  if (v !== 'tenth' && !(Number.isInteger(v) && v >= 1 && v <= LIMITS.images)) throw new ConfigError(`${from}validationCount must be an integer in 1..${LIMITS.images} or "tenth", got ${String(v)}`);
  let validationCount: number;
  if (v === 'tenth') {
    validationCount = Math.round(trainFileCount / 10);
  } else if (!protocol.validationCountGiven && trainFileCount < 50000) {
    validationCount = Math.round(trainFileCount / 10);
    if (validationCount !== v) {
      warnings.add(`validationCount ${v} of protocol ${protocol.name} is meant for the full set (50000 training-file images); ` +
        `using ${validationCount}, a tenth of the ${trainFileCount} of dataset ${dataset}`);
    }
  } else {
    validationCount = v;
  }
  if (validationCount >= trainFileCount) {
    throw new ConfigError(`${from}validationCount ${validationCount} must be less than the ${trainFileCount} training-file images of dataset ${dataset}`);
  }
  const testCount = protocol.testCount;
  if (testCount !== null && testFileCount !== undefined && testCount > testFileCount) {
    throw new ConfigError(`${from}testCount ${testCount} is larger than the ${testFileCount} test images of dataset ${dataset}`);
  }
  const trainFraction = overrides.trainFraction ?? protocol.trainFraction;
  if (!(trainFraction > 0 && trainFraction <= 1)) throw new ConfigError(`trainFraction must be in (0, 1], got ${String(trainFraction)}`);
  const trainImages = trainImagesUsed(trainFileCount, validationCount, trainFraction);
  if (trainImages < 2) {
    throw new ConfigError(`${overrides.trainFraction !== undefined ? '' : from}trainFraction ${trainFraction} leaves ${trainImages} training image${trainImages === 1 ? '' : 's'} ` +
      `(of ${trainFileCount - validationCount} after ${validationCount} for validation, dataset ${dataset}); at least 2 are needed`);
  }
  const batchSize = overrides.batchSize ?? 128;
  if (Number.isInteger(batchSize) && batchSize > trainImages && batchSize <= LIMITS.batchSize) {
    warnings.add(`batchSize ${batchSize} is larger than the ${trainImages} training images: every epoch is one batch of ${trainImages}`);
  }

  const runs: RunConfig[] = [];
  for (const arm of arms) {
    for (let seed = 0; seed < seeds; seed++) {
      const c: RunConfig = {
        protocol: protocol.name, arm: arm.name, seed, depth: 20, batchSize,
        maxEpochs: overrides.maxEpochs ?? protocol.maxEpochs,
        target: overrides.target !== undefined ? overrides.target : protocol.target,
        stopAtTarget: protocol.stopAtTarget, schedule: arm.schedule,
        momentum: 0.9, weightDecay: 1e-4, bnMomentum: 0.1, bnEpsilon: 1e-5, augment: true,
        data: { dataset, validationCount, splitSeed: 0, trainFraction, testCount },
      };
      validateRunConfig(c).forEach((w) => warnings.add(w));
      runs.push(c);
    }
  }
  return { runs, warnings: [...warnings] };
}
