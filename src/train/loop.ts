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
import type { EpochRecord, RunStatus } from '../runs/types';
import { buildSchedule, type RunConfig } from './config';
import { createTrainState, evaluate, trainStep } from './step';

/** Train/validation/test images of a run. */
export interface RunData {
  train: Cifar10Raw;
  validation: Cifar10Raw;
  test: Cifar10Raw;
}

/** Summary of a run as it stands after an epoch (what the results store keeps per run). */
export interface RunSummary {
  epochsCompleted: number;
  epochsToTarget: number | null;
  iterationsToTarget: number | null;
  secondsToTarget: number | null;
  bestValidationAccuracy: number | null;
  testAccuracyAtBestValidation: number | null;
  finalTestAccuracy: number | null;
}

export interface RunOutcome extends RunSummary {
  status: Exclude<RunStatus, 'running' | 'failed'>;
  /** Set when diverged: what and where. */
  error: string | null;
  epochs: EpochRecord[];
}

export interface TrainHooks {
  /** After each epoch's evaluation, before the next epoch (write it to the store here). */
  onEpoch?(record: EpochRecord, summary: RunSummary): void | Promise<void>;
  /** Within an epoch, every few iterations. */
  onProgress?(p: { epoch: number; iterationInEpoch: number; iterationsPerEpoch: number; loss: number; learningRate: number }): void;
  /** Iterations between onProgress calls and event-loop yields (default 5). */
  progressEvery?: number;
}

/** Iterations per epoch: ceil(training images / batch size), the last batch being smaller (PyTorch drop_last=False). */
export function iterationsPerEpoch(trainCount: number, batchSize: number): number {
  return Math.ceil(trainCount / batchSize);
}

/**
 * Trains one run from scratch.
 * Same seed and backend give the same data order, augmentation and initial weights.
 * @param runId identifier written into the epoch records
 * @param config run configuration (validated by the caller, see validateRunConfig)
 * @param data images: train (augmented, shuffled each epoch), validation and test (evaluated each epoch)
 * @returns final status: 'completed' (reached the target when stopping at it, or ran all epochs without a
 *   target), 'censored' (never reached the target in maxEpochs), 'diverged' (non-finite loss)
 */
export async function trainRun(runId: string, config: RunConfig, data: RunData, hooks: TrainHooks = {}): Promise<RunOutcome> {
  const perEpoch = iterationsPerEpoch(data.train.count, config.batchSize);
  const schedule = buildSchedule(config.schedule, perEpoch);
  const state = createTrainState({
    depth: config.depth, seed: config.seed, momentum: config.momentum, weightDecay: config.weightDecay,
    bnMomentum: config.bnMomentum, bnEpsilon: config.bnEpsilon,
  });
  const orderRng = createRng(deriveSeed(config.seed, 'order'));
  const augmentRng = createRng(deriveSeed(config.seed, 'augment'));
  const buffer = new Float32Array(config.batchSize * 3072);
  const progressEvery = hooks.progressEvery ?? 5;
  const summary: RunSummary = {
    epochsCompleted: 0, epochsToTarget: null, iterationsToTarget: null, secondsToTarget: null,
    bestValidationAccuracy: null, testAccuracyAtBestValidation: null, finalTestAccuracy: null,
  };
  const epochs: EpochRecord[] = [];
  let iteration = 0;
  let trainSeconds = 0;
  const started = process.hrtime.bigint();
  const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;
  try {
    for (let epoch = 1; epoch <= config.maxEpochs; epoch++) {
      const order = permutation(data.train.count, orderRng);
      let lossSum = 0;
      let correct = 0;
      let lr = 0;
      const epochStart = process.hrtime.bigint();
      for (let b = 0; b < perEpoch; b++) {
        const idx = order.subarray(b * config.batchSize, Math.min((b + 1) * config.batchSize, data.train.count));
        const batch = makeBatch(data.train, idx, config.augment ? augmentRng : undefined, buffer);
        lr = schedule(iteration);
        const r = trainStep(state, batch.images, batch.labels, lr);
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
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      trainSeconds += seconds(epochStart);
      const validation = evaluate(state.model, data.validation);
      const test = evaluate(state.model, data.test);
      const record: EpochRecord = {
        runId, epoch, iteration, learningRate: lr,
        trainLoss: lossSum / data.train.count, trainAccuracy: correct / data.train.count,
        validationLoss: validation.loss, validationAccuracy: validation.accuracy,
        testLoss: test.loss, testAccuracy: test.accuracy,
        trainSeconds, totalSeconds: seconds(started),
      };
      epochs.push(record);
      summary.epochsCompleted = epoch;
      summary.finalTestAccuracy = test.accuracy;
      if (summary.bestValidationAccuracy === null || validation.accuracy > summary.bestValidationAccuracy) {
        summary.bestValidationAccuracy = validation.accuracy;
        summary.testAccuracyAtBestValidation = test.accuracy;
      }
      const reached = config.target !== null && validation.accuracy >= config.target && summary.epochsToTarget === null;
      if (reached) {
        summary.epochsToTarget = epoch;
        summary.iterationsToTarget = iteration;
        summary.secondsToTarget = trainSeconds;
      }
      await hooks.onEpoch?.(record, { ...summary });
      if (!Number.isFinite(validation.loss)) {
        return { ...summary, status: 'diverged', error: `validation loss became ${validation.loss} at epoch ${epoch}`, epochs };
      }
      if (reached && config.stopAtTarget) break;
    }
  } finally {
    state.dispose();
  }
  const status = config.stopAtTarget && config.target !== null && summary.epochsToTarget === null ? 'censored' : 'completed';
  return { ...summary, status, error: null, epochs };
}
