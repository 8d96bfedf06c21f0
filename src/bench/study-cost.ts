/**
 * The study's cost at the throughput `npm run bench` measured: core-hours and wall hours on the
 * measured machine for `race-to-85` (every run at the original study's median epochs to 85%,
 * 30.5 for step and 21 for SGDR, src/analysis/model/reference.ts) and `full-182` (every run 182
 * epochs), each epoch priced as src/train/throughput.ts secondsPerEpoch does for `experiment`'s
 * estimate: training images / training speed + evaluated images / evaluation speed, on one core.
 */
import { ORIGINAL_STUDY } from '../analysis/model/reference';
import { PROTOCOLS, type ProtocolSpec } from '../runs/protocols';
import { formatDuration, secondsPerEpoch, type Throughput } from '../train/throughput';

/** Images of the full CIFAR-10 training files and test file. */
const FULL_TRAIN = 50000;
const FULL_TEST = 10000;

/** The cost of one protocol. */
export interface StudyCost {
  protocol: string;
  runs: number;
  epochs: number;
  /** Seconds of one core per epoch of one run. */
  secondsPerEpoch: number;
  coreHours: number;
  /** Wall hours on the measured machine: core-hours / (whole-machine speed / one-core speed). */
  wallHours: number;
}

/** Epochs of every run of `p`: race-to-85 at the original medians (per arm), others at maxEpochs. */
function protocolEpochs(p: ProtocolSpec): number {
  return p.arms.reduce((s, arm) => s + p.seeds * (p.stopAtTarget ? (ORIGINAL_STUDY.medianEpochsTo85[arm.name] ?? p.maxEpochs) : p.maxEpochs), 0);
}

/**
 * Prices race-to-85 and full-182 on the full set.
 * @param oneCore one run on one core: training and evaluation images/s
 * @param machineImagesPerSecond training images/s of the whole machine (one run per core), or null (then wall = core-hours)
 * @throws RangeError when a speed is not positive
 */
export function studyCost(oneCore: { trainImagesPerSecond: number; evalImagesPerSecond: number; backend: string },
  machineImagesPerSecond: number | null): StudyCost[] {
  if (!(oneCore.trainImagesPerSecond > 0) || !(oneCore.evalImagesPerSecond > 0)) throw new RangeError('studyCost: speeds must be > 0');
  const t: Throughput = { ...oneCore, setupSeconds: 0, steps: 0, batchSize: 128 };
  const speedup = machineImagesPerSecond !== null && machineImagesPerSecond > 0 ? machineImagesPerSecond / oneCore.trainImagesPerSecond : 1;
  return ['race-to-85', 'full-182'].map((name) => {
    const p = PROTOCOLS[name];
    const validation = typeof p.validationCount === 'number' ? p.validationCount : FULL_TRAIN / 10;
    const perEpoch = secondsPerEpoch(t, FULL_TRAIN * p.trainFraction - validation, validation + (p.testCount ?? FULL_TEST));
    const epochs = protocolEpochs(p);
    const coreHours = (epochs * perEpoch) / 3600;
    return { protocol: name, runs: p.arms.length * p.seeds, epochs, secondsPerEpoch: perEpoch, coreHours, wallHours: coreHours / speedup };
  });
}

/** One line per protocol: "race-to-85: 40 runs, 1030 epochs x 2.0 min = 35 core-hours, 23 h wall on this machine". */
export function studyCostLines(costs: StudyCost[]): string[] {
  return costs.map((c) => `${c.protocol}: ${c.runs} runs, ${c.epochs} epochs${c.protocol === 'race-to-85' ? ' (original medians 30.5 / 21)' : ''} x `
    + `${formatDuration(c.secondsPerEpoch)} per epoch on one core = ${c.coreHours.toFixed(1)} core-hours, ${formatDuration(c.wallHours * 3600)} wall on this machine`);
}
