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
import { ConfigError, validateRunConfig, type RunConfig, type ScheduleSpec } from '../train/config';

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
  /** Validation images when the data is the full set (5,000) and when it is smaller (10% of the training files). */
  validationCount: number | 'tenth';
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
      'the Welch and log-rank comparisons can be computed, in about 10 minutes on 2 cores with the wasm backend) reaches roughly 30-40% validation accuracy, far below 85% (the full set ' +
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
 * share initial weights and data order seed by seed).
 * @param dataset name of the located dataset's manifest ('cifar-10', 'cifar-10-subset')
 * @param trainFileCount images in the dataset's training files (50,000 for the full set)
 * @returns configurations and warnings
 * @throws ConfigError on bad overrides (named) or unknown arms
 */
export function expandProtocol(protocol: ProtocolSpec, dataset: string, trainFileCount: number, overrides: ProtocolOverrides = {}): { runs: RunConfig[]; warnings: string[] } {
  const seeds = overrides.seeds ?? protocol.seeds;
  if (!Number.isInteger(seeds) || seeds < 1) throw new ConfigError(`seeds must be an integer >= 1, got ${String(seeds)}`);
  let arms = protocol.arms;
  if (overrides.arms) {
    for (const a of overrides.arms) {
      if (!protocol.arms.some((x) => x.name === a)) {
        throw new ConfigError(`unknown arm "${a}" for protocol ${protocol.name}; expected ${protocol.arms.map((x) => x.name).join(', ')}`);
      }
    }
    arms = protocol.arms.filter((x) => overrides.arms!.includes(x.name));
  }
  const validationCount = protocol.validationCount === 'tenth' || trainFileCount < 50000
    ? Math.round(trainFileCount / 10)
    : protocol.validationCount;
  const runs: RunConfig[] = [];
  const warnings = new Set<string>();
  for (const arm of arms) {
    for (let seed = 0; seed < seeds; seed++) {
      const c: RunConfig = {
        protocol: protocol.name, arm: arm.name, seed, depth: 20, batchSize: overrides.batchSize ?? 128,
        maxEpochs: overrides.maxEpochs ?? protocol.maxEpochs,
        target: overrides.target !== undefined ? overrides.target : protocol.target,
        stopAtTarget: protocol.stopAtTarget, schedule: arm.schedule,
        momentum: 0.9, weightDecay: 1e-4, bnMomentum: 0.1, bnEpsilon: 1e-5, augment: true,
        data: { dataset, validationCount, splitSeed: 0, trainFraction: overrides.trainFraction ?? protocol.trainFraction, testCount: protocol.testCount },
      };
      validateRunConfig(c).forEach((w) => warnings.add(w));
      runs.push(c);
    }
  }
  return { runs, warnings: [...warnings] };
}
