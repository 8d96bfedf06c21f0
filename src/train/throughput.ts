/**
 * Training throughput measured in this process (a few real training steps and an evaluation pass of
 * ResNet on real CIFAR-10 images), and the duration of a protocol estimated from it. Used by the
 * training notebooks to say how long a protocol will take before it starts.
 */
import * as path from 'node:path';
import { makeBatch } from '../data/augment';
import { readCifar10File, takeFirst } from '../data/cifar10';
import { EMBEDDED_DATA_DIR } from '../data/locate';
import { createRng } from '../data/random';
import { selectEngine, type BackendChoice } from '../engine/engine';
import { createTrainState, evaluate, trainStep } from './step';

/** Measured speed of one process. */
export interface Throughput {
  /** Engine the measurement ran on (as selectEngine reports it). */
  backend: string;
  /** Training images per second (SGD steps of `batchSize`, augmentation included). */
  trainImagesPerSecond: number;
  /** Evaluated images per second (inference mode, batches of 200). */
  evalImagesPerSecond: number;
  /** Seconds to read the images and build the model and optimiser: the start-up of each run. */
  setupSeconds: number;
  /** Timed training steps. */
  steps: number;
  batchSize: number;
}

/** Options of {@link measureThroughput}. */
export interface MeasureThroughputOptions {
  /** Engine (default 'auto'); selected for this process, so it must match any engine already selected. */
  backend?: BackendChoice;
  /** Timed training steps (default 4) after `warmup` untimed ones (default 2). */
  steps?: number;
  warmup?: number;
  /** Training batch size (default 128). */
  batchSize?: number;
  /** ResNet depth 6n+2 (default 20). */
  depth?: number;
  /** Images evaluated for the inference speed (default 400). */
  evalImages?: number;
}

/**
 * Measures training and evaluation speed of ResNet in this process on the embedded CIFAR-10 subset's
 * images (speed does not depend on which images): `warmup` + `steps` SGD steps at lr 0.1, then one
 * evaluation pass. Takes ~5-10 s on one CPU core with the wasm engine (batch 128: ~1 s per step).
 * The engine stays selected in this process. For a native GPU engine, TF_FORCE_GPU_ALLOW_GROWTH is
 * set to true unless already set (TensorFlow then takes GPU memory as needed instead of all of it,
 * so that worker processes forked afterwards, which inherit it, can share the GPU).
 * @returns images per second for training and for evaluation
 * @throws Error when the backend cannot be selected (see selectEngine)
 */
export async function measureThroughput(options: MeasureThroughputOptions = {}): Promise<Throughput> {
  const steps = options.steps ?? 4;
  const warmup = options.warmup ?? 2;
  const batchSize = options.batchSize ?? 128;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be an integer >= 1, got ${steps}`);
  const backend = options.backend ?? 'auto';
  if ((backend === 'auto' || backend === 'tfjs-node-gpu') && process.env.TF_FORCE_GPU_ALLOW_GROWTH === undefined) {
    process.env.TF_FORCE_GPU_ALLOW_GROWTH = 'true';
  }
  const engine = await selectEngine({ backend });
  const t00 = performance.now();
  const raw = readCifar10File(path.join(EMBEDDED_DATA_DIR, 'data_batch_1.bin'));
  const state = createTrainState({ depth: options.depth ?? 20, seed: 0 });
  const setupSeconds = (performance.now() - t00) / 1000;
  try {
    const rng = createRng(0);
    const buffer = new Float32Array(batchSize * 3072);
    let cursor = 0;
    const step = () => {
      const indices = Array.from({ length: batchSize }, () => cursor++ % raw.count);
      const b = makeBatch(raw, indices, rng, buffer);
      trainStep(state, b.images, b.labels, 0.1);
    };
    for (let i = 0; i < warmup; i++) step();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) step();
    const trainSeconds = (performance.now() - t0) / 1000;
    const evalSet = takeFirst(raw, options.evalImages ?? 400);
    const t1 = performance.now();
    evaluate(state.model, evalSet);
    const evalSeconds = (performance.now() - t1) / 1000;
    return {
      backend: engine.backend,
      trainImagesPerSecond: (steps * batchSize) / trainSeconds,
      evalImagesPerSecond: evalSet.count / evalSeconds,
      setupSeconds,
      steps,
      batchSize,
    };
  } finally {
    state.dispose();
  }
}

/**
 * Seconds of one process for one epoch of one run at the measured speeds: training images /
 * training speed + evaluated images (validation and test) / evaluation speed.
 */
export function secondsPerEpoch(t: Throughput, trainImages: number, evalImages: number): number {
  return trainImages / t.trainImagesPerSecond + evalImages / t.evalImagesPerSecond;
}

/** The work of a set of runs, for {@link estimateTrainingSeconds}. */
export interface TrainingWork {
  /** Runs still to train. */
  runs: number;
  /** Epochs per run (an upper bound for runs that stop at a target). */
  epochs: number;
  /** Training images per epoch. */
  trainImages: number;
  /** Images evaluated per epoch (validation + test). */
  evalImages: number;
  /** Runs trained at once (worker processes); 0 or 1: one after the other. */
  workers: number;
}

/** Wall-clock seconds of {@link estimateTrainingSeconds}: a range. */
export interface TrainingEstimate {
  /** Every worker keeps the measured speed (no sharing of cores). */
  low: number;
  /** The workers together are no faster than one process (cores fully shared). */
  high: number;
}

/**
 * Wall-clock seconds to train `work` at the measured speed `t`: each run takes
 * setupSeconds + epochs x (trainImages / train speed + evalImages / eval speed). `low` spreads
 * the runs over `workers` processes that each keep the measured speed; `high` assumes they share
 * it (one after the other). The truth lies between: on the idle 2-core development machine 2
 * workers together gave 1.25x the speed of one, and a machine busy with other work gives less.
 * @returns seconds ({low: 0, high: 0} when there is nothing to train)
 */
export function estimateTrainingSeconds(work: TrainingWork, t: Throughput): TrainingEstimate {
  if (work.runs <= 0) return { low: 0, high: 0 };
  const perRun = t.setupSeconds + work.epochs * secondsPerEpoch(t, work.trainImages, work.evalImages);
  const parallel = Math.max(1, Math.min(work.workers, work.runs));
  return { low: Math.ceil(work.runs / parallel) * perRun, high: work.runs * perRun };
}

/** Seconds as "42 s", "12.5 min", "3.2 h" or "4.1 days". */
export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${seconds.toFixed(0)} s`;
  if (seconds < 90 * 60) return `${(seconds / 60).toFixed(1)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}
