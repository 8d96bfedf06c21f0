/**
 * One training iteration and evaluation of a CIFAR ResNet.
 */
import * as tf from '@tensorflow/tfjs';
import { createResNet, type ResNet } from '../model/resnet';
import { createSgd, type Sgd } from './sgd';
import type { Cifar10Raw } from '../data/cifar10';
import { makeBatch } from '../data/augment';

export interface TrainStateOptions {
  depth?: number;
  seed: number;
  momentum?: number;
  weightDecay?: number;
  bnMomentum?: number;
  bnEpsilon?: number;
}

export interface TrainState {
  model: ResNet;
  optimizer: Sgd;
  dispose(): void;
}

/** Model (ResNet-`depth`, default 20) and SGD (momentum 0.9, weight decay 1e-4 by default), seeded. */
export function createTrainState(options: TrainStateOptions): TrainState {
  const model = createResNet({ depth: options.depth ?? 20, seed: options.seed, bnMomentum: options.bnMomentum, bnEpsilon: options.bnEpsilon });
  const optimizer = createSgd(model.trainable, { momentum: options.momentum ?? 0.9, weightDecay: options.weightDecay ?? 1e-4 });
  return { model, optimizer, dispose: () => { model.dispose(); optimizer.dispose(); } };
}

/** Loss and accuracy count of one step. */
export interface StepResult {
  /** Mean softmax cross-entropy of the batch (nats), before the update. */
  loss: number;
  /** Correctly classified images of the batch, before the update. */
  correct: number;
}

/**
 * One SGD iteration: forward in training mode, mean softmax cross-entropy, gradients of all
 * trainable variables, SGD update with `learningRate`, batch-norm running-statistics update.
 * @param images NHWC float32 [n, 32, 32, 3] (length n*3072), normalised
 * @param labels class indices, length n
 * @param learningRate lr of this iteration
 */
export function trainStep(state: TrainState, images: Float32Array, labels: Int32Array, learningRate: number): StepResult {
  const n = labels.length;
  const { model, optimizer } = state;
  const packed = tf.tidy(() => {
    const x = tf.tensor4d(images, [n, 32, 32, 3]);
    const y = tf.tensor1d(labels, 'int32');
    const oneHot = tf.oneHot(y, 10);
    let kept: tf.Tensor[] = [];
    let statistics: ReturnType<ResNet['forward']>['statistics'] = [];
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(x, true);
      statistics = out.statistics;
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(out.logits, 1), y), 'float32'));
      kept = [correct, ...statistics.flatMap((s) => [s.mean, s.variance])].map((t) => tf.keep(t));
      return tf.losses.softmaxCrossEntropy(oneHot, out.logits) as tf.Scalar;
    }, model.trainable);
    optimizer.step(grads, learningRate);
    model.updateRunningStatistics(statistics);
    const result = tf.stack([value, kept[0]]);
    kept.forEach((t) => t.dispose());
    return result;
  });
  const [loss, correct] = packed.dataSync();
  packed.dispose();
  return { loss, correct };
}

/**
 * Loss and accuracy of the model in inference mode (running batch-norm statistics) on a set, one
 * batch per step of the generator (evaluate drains it; evaluateYielding lets timers run between).
 * @param raw images to evaluate (no augmentation)
 * @param batchSize evaluation batch size (default 200: larger batches were slower on wasm, 9.3 s vs 4.2 s per 1,000 images at 500)
 * @returns mean cross-entropy (nats) and accuracy in [0, 1]
 */
export function* evaluateBatches(model: ResNet, raw: Cifar10Raw, batchSize = 200): Generator<void, { loss: number; accuracy: number }> {
  const t = yield* evaluateTotals(model, raw, batchSize);
  return { loss: t.lossSum / raw.count, accuracy: t.correct / raw.count };
}

/**
 * evaluateBatches' sums: the summed cross-entropy (nats; float32 sums per batch, added in float64 in
 * batch order) and the number of correct predictions over the set. A set split into parts evaluated
 * apart (the data-parallel trainer's replicas) adds its parts' totals: the same correct count, the
 * loss up to the rounding of other float32 sums per batch.
 */
export function* evaluateTotals(model: ResNet, raw: Cifar10Raw, batchSize = 200): Generator<void, { lossSum: number; correct: number }> {
  let lossSum = 0;
  let correct = 0;
  const buffer = new Float32Array(batchSize * 3072);
  for (let start = 0; start < raw.count; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, raw.count - start) }, (_, i) => start + i);
    const batch = makeBatch(raw, idx, undefined, buffer);
    const packed = tf.tidy(() => {
      const x = tf.tensor4d(batch.images, [batch.size, 32, 32, 3]);
      const y = tf.tensor1d(batch.labels, 'int32');
      const { logits } = model.forward(x, false);
      const l = tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), logits, undefined, undefined, tf.Reduction.SUM);
      const c = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'));
      return tf.stack([l, c]);
    });
    const [l, c] = packed.dataSync();
    packed.dispose();
    lossSum += l;
    correct += c;
    if (start + batchSize < raw.count) yield;
  }
  return { lossSum, correct };
}

/** evaluateBatches run to the end at once. */
export function evaluate(model: ResNet, raw: Cifar10Raw, batchSize = 200): { loss: number; accuracy: number } {
  return runToEnd(evaluateBatches(model, raw, batchSize));
}

/** Runs one of the evaluation generators (evaluateBatches, evaluateTotals) to the end at once; returns its result. */
export function runToEnd<T>(it: Generator<void, T>): T {
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/** evaluateBatches with the event loop running between batches (lease heartbeats during long evaluations). */
export async function evaluateYielding(model: ResNet, raw: Cifar10Raw, batchSize = 200): Promise<{ loss: number; accuracy: number }> {
  const it = evaluateBatches(model, raw, batchSize);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
