/**
 * The training loop of one run: seeded shuffling and augmentation, learning rate set every
 * iteration from the schedule, evaluation on validation and test sets after every epoch, stop
 * rules (max epochs; target validation accuracy), divergence detection. Structure after fastai's
 * fit loop and akamaster's trainer: one function, hooks for what happens around it.
 */
import * as tf from '@tensorflow/tfjs';
import type { Cifar10Raw } from '../data/cifar10';
import { makeBatch } from '../data/augment';
import { createRng, deriveSeed, permutation } from '../data/random';
import { restoreCheckpoint, saveCheckpoint } from './checkpoint';
import { advanceSummary, emptySummary, type EpochRecord, type RunStatus, type RunSummary } from './records';
import { threadsProblem } from '../engine/engine';
import { buildSchedule, ConfigError, threadsOf, type RunConfig } from './config';
import { createTrainState, evaluateYielding, trainStep, type StepResult } from './step';
import { copyStateTo, createParallelTrainer, loadStateFrom, type ParallelTrainer } from './parallel';

/** Train/validation/test images of a run. */
export interface RunData {
  train: Cifar10Raw;
  validation: Cifar10Raw;
  test: Cifar10Raw;
}

export type { RunSummary } from './records';

export interface RunOutcome extends RunSummary {
  status: Exclude<RunStatus, 'running' | 'failed'>;
  /** Set when diverged: what and where. */
  error: string | null;
  epochs: EpochRecord[];
}

export interface TrainHooks {
  /**
   * After each epoch's evaluation, before the next epoch (write it to the store here, with the
   * checkpoint in the same transaction). `checkpoint` is the complete training state after this
   * epoch (see saveCheckpoint), given every `checkpointEvery` epochs and at the run's last epoch; else null.
   */
  onEpoch?(record: EpochRecord, summary: RunSummary, checkpoint: Uint8Array | null): void | Promise<void>;
  /** Epochs between checkpoints (default 1: after every epoch); 0 = never. */
  checkpointEvery?: number;
  /**
   * Asked after every iteration: a non-null reason stops training at once with a
   * TrainingInterrupted error (lease lost, SIGTERM); nothing of the unfinished epoch is reported.
   */
  shouldStop?(): string | null;
  /** Within an epoch, every few iterations. */
  onProgress?(p: { epoch: number; iterationInEpoch: number; iterationsPerEpoch: number; loss: number; learningRate: number }): void;
  /** Iterations between onProgress calls (default 5); the loop yields to the event loop after every iteration. */
  progressEvery?: number;
}

/** Where to continue a run from: a checkpoint and what the store holds of the epochs before it. */
export interface ResumeFrom {
  checkpoint: Uint8Array;
  /** Training and total seconds at the checkpoint's epoch (from its epoch record). */
  trainSeconds: number;
  totalSeconds: number;
  /** CPU seconds at the checkpoint's epoch; null when unknown (then every later epoch's are null too). */
  trainCpuSeconds: number | null;
  totalCpuSeconds: number | null;
  /** The run's summary after the checkpoint's epoch. */
  summary: RunSummary;
}

/** Training stopped from outside (hooks.shouldStop) before the run finished. */
export class TrainingInterrupted extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'TrainingInterrupted';
  }
}

/** Iterations per epoch: ceil(training images / batch size), the last batch being smaller (PyTorch drop_last=False). */
export function iterationsPerEpoch(trainCount: number, batchSize: number): number {
  return Math.ceil(trainCount / batchSize);
}

/**
 * Trains one run, from scratch or from a checkpoint.
 * Same seed and backend give the same data order, augmentation and initial weights; a run resumed
 * from the checkpoint of epoch k gives the same epochs k+1... as the uninterrupted run, bit for bit.
 * With config.threads > 1 (wasm backend, with or without oneDNN's convolutions) the steps run on the data-parallel trainer
 * (src/train/parallel.ts, one replica per thread), which also splits the evaluation after every epoch
 * between them; after every epoch its state is copied into a main-thread model for the checkpoint,
 * and its threads are stopped on every exit
 * (finished, diverged, interrupted, error). The same thread count gives the same run bit for bit.
 * @param runId identifier written into the epoch records
 * @param config run configuration (validated by the caller, see validateRunConfig)
 * @param data images: train (augmented, shuffled each epoch), validation and test (evaluated each epoch)
 * @returns final status: 'completed' (reached the target when stopping at it, or ran all epochs without a
 *   target), 'censored' (never reached the target in maxEpochs), 'diverged' (non-finite loss)
 * @throws ConfigError when threads > 1 on another tfjs backend than wasm (threadsProblem), or the checkpoint to resume from
 *   was trained with another thread count (the caller resumes with the checkpoint's, see checkpointThreads)
 */
export async function trainRun(runId: string, config: RunConfig, data: RunData, hooks: TrainHooks = {}, resume?: ResumeFrom): Promise<RunOutcome> {
  const perEpoch = iterationsPerEpoch(data.train.count, config.batchSize);
  const schedule = buildSchedule(config.schedule, perEpoch);
  const state = createTrainState({
    depth: config.depth, seed: config.seed, momentum: config.momentum, weightDecay: config.weightDecay,
    bnMomentum: config.bnMomentum, bnEpsilon: config.bnEpsilon,
  });
  let orderRng = createRng(deriveSeed(config.seed, 'order'));
  let augmentRng = createRng(deriveSeed(config.seed, 'augment'));
  const buffer = new Float32Array(config.batchSize * 3072);
  const progressEvery = hooks.progressEvery ?? 5;
  let summary: RunSummary = resume ? { ...resume.summary } : emptySummary();
  const epochs: EpochRecord[] = [];
  let iteration = 0;
  let firstEpoch = 1;
  let trainSeconds = resume?.trainSeconds ?? 0;
  const started = process.hrtime.bigint() - BigInt(Math.round((resume?.totalSeconds ?? 0) * 1e9));
  const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;
  // CPU seconds of this process (all threads: getrusage RUSAGE_SELF), cumulative like the wall seconds
  const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  const cpuAtStart = cpuNow();
  const totalCpuBefore = resume ? resume.totalCpuSeconds : 0;
  let trainCpuSeconds = resume ? resume.trainCpuSeconds : 0;
  const checkpointEvery = hooks.checkpointEvery ?? 1;
  const threads = threadsOf(config);
  let trainer: ParallelTrainer | null = null;
  try {
    const problem = threadsProblem(threads, tf.getBackend());
    if (problem) throw new ConfigError(problem);
    if (resume) {
      const at = restoreCheckpoint(resume.checkpoint, state, config.depth);
      if (at.threads !== threads) {
        throw new ConfigError(`run ${runId}: its checkpoint was trained with ${at.threads} thread${at.threads === 1 ? '' : 's'}, the configuration says ${threads}; resume it with ${at.threads}`);
      }
      orderRng = createRng(0, at.rng.order);
      augmentRng = createRng(0, at.rng.augment);
      iteration = at.iteration;
      firstEpoch = at.epoch + 1;
      if (config.stopAtTarget && summary.epochsToTarget !== null) firstEpoch = config.maxEpochs + 1; // stopped at the target already
    }
    if (threads > 1 && firstEpoch <= config.maxEpochs) {
      // replicas built from the same seed as `state`; a resumed run's state is loaded into them
      trainer = await createParallelTrainer({
        threads, maxBatch: config.batchSize, depth: config.depth, seed: config.seed, momentum: config.momentum,
        weightDecay: config.weightDecay, bnMomentum: config.bnMomentum, bnEpsilon: config.bnEpsilon,
      });
      if (resume) await loadStateFrom(trainer, state);
    }
    const step = (images: Float32Array, labels: Int32Array, lr: number): StepResult | Promise<StepResult> =>
      (trainer ? trainer.step(images, labels, lr) : trainStep(state, images, labels, lr));
    for (let epoch = firstEpoch; epoch <= config.maxEpochs; epoch++) {
      const order = permutation(data.train.count, orderRng);
      let lossSum = 0;
      let correct = 0;
      let lr = 0;
      const epochStart = process.hrtime.bigint();
      const epochCpuStart = cpuNow();
      for (let b = 0; b < perEpoch; b++) {
        const idx = order.subarray(b * config.batchSize, Math.min((b + 1) * config.batchSize, data.train.count));
        const batch = makeBatch(data.train, idx, config.augment ? augmentRng : undefined, buffer);
        lr = schedule(iteration);
        const r = await step(batch.images, batch.labels, lr);
        iteration++;
        if (!Number.isFinite(r.loss)) {
          trainSeconds += seconds(epochStart);
          const error = `training loss became ${r.loss} at epoch ${epoch}, iteration ${iteration} (learning rate ${lr})`;
          return { ...summary, status: 'diverged', error, epochs };
        }
        lossSum += r.loss * batch.size;
        correct += r.correct;
        if (b % progressEvery === progressEvery - 1 || b === perEpoch - 1) {
          hooks.onProgress?.({ epoch, iterationInEpoch: b + 1, iterationsPerEpoch: perEpoch, loss: lossSum / ((b + 1) * config.batchSize), learningRate: lr });
        }
        // every iteration: timers (lease heartbeats), signals and IPC run, and a stop request takes effect within a step
        await new Promise((resolve) => setImmediate(resolve));
        const stop = hooks.shouldStop?.();
        if (stop) throw new TrainingInterrupted(stop);
      }
      trainSeconds += seconds(epochStart);
      if (trainCpuSeconds !== null) trainCpuSeconds += cpuNow() - epochCpuStart;
      if (trainer) await copyStateTo(trainer, state);
      // with replicas the evaluation is split across them too (the same accuracies as on the main thread)
      const evaluate = (set: RunData['validation']) => (trainer ? trainer.evaluate(set) : evaluateYielding(state.model, set));
      const validation = await evaluate(data.validation);
      const test = await evaluate(data.test);
      const record: EpochRecord = {
        runId, epoch, iteration, learningRate: lr,
        trainLoss: lossSum / data.train.count, trainAccuracy: correct / data.train.count,
        validationLoss: validation.loss, validationAccuracy: validation.accuracy,
        testLoss: test.loss, testAccuracy: test.accuracy,
        trainSeconds, totalSeconds: seconds(started),
        trainCpuSeconds, totalCpuSeconds: totalCpuBefore === null ? null : totalCpuBefore + cpuNow() - cpuAtStart,
      };
      epochs.push(record);
      const reached = config.target !== null && validation.accuracy >= config.target && summary.epochsToTarget === null;
      summary = advanceSummary(summary, record, config.target);
      const last = !Number.isFinite(validation.loss) || (reached && config.stopAtTarget) || epoch === config.maxEpochs;
      const checkpoint = checkpointEvery > 0 && (last || epoch % checkpointEvery === 0)
        ? saveCheckpoint(state, config.depth, { epoch, iteration, rng: { order: orderRng.state(), augment: augmentRng.state() }, threads })
        : null;
      await hooks.onEpoch?.(record, { ...summary }, checkpoint);
      if (!Number.isFinite(validation.loss)) {
        return { ...summary, status: 'diverged', error: `validation loss became ${validation.loss} at epoch ${epoch}`, epochs };
      }
      if (reached && config.stopAtTarget) break;
    }
  } finally {
    state.dispose();
    await trainer?.close();
  }
  const status = config.stopAtTarget && config.target !== null && summary.epochsToTarget === null ? 'censored' : 'completed';
  return { ...summary, status, error: null, epochs };
}
