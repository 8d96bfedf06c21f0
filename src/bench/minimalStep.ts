/**
 * A self-contained ResNet-20 (option A) training step built only from src/model/layers.ts:
 * He-normal init, batch norm in training mode, softmax cross-entropy, SGD with momentum and
 * weight decay (PyTorch's form: v = m v + (g + wd w); w -= lr v). The bench uses it when the
 * workspace trainer (src/train/step.ts) is not available, and to profile a step.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain, conv2d, globalAveragePool, relu, shortcutA } from '../model/layers';

export interface MinimalState {
  variables: tf.Variable[];
  velocities: tf.Variable[];
  forward(x: tf.Tensor4D): tf.Tensor2D;
  momentum: number;
  weightDecay: number;
  dispose(): void;
}

/** Deterministic normal numbers (Box-Muller over a 32-bit LCG). */
function normals(n: number, std: number, seed: { s: number }): Float32Array {
  const out = new Float32Array(n);
  const uni = () => {
    seed.s = (Math.imul(seed.s, 1664525) + 1013904223) >>> 0;
    return (seed.s + 0.5) / 4294967296;
  };
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(uni())) * Math.cos(2 * Math.PI * uni());
  return out;
}

export function createMinimalState(depth = 20, seed = 1, momentum = 0.9, weightDecay = 1e-4): MinimalState {
  const rng = { s: seed >>> 0 };
  const variables: tf.Variable[] = [];
  const conv = (k: number, cin: number, cout: number) => {
    const v = tf.variable(tf.tensor4d(normals(k * k * cin * cout, Math.sqrt(2 / (k * k * cin)), rng), [k, k, cin, cout]));
    variables.push(v);
    return v as tf.Variable<tf.Rank.R4>;
  };
  const bn = (c: number) => {
    const g = tf.variable(tf.ones([c])) as tf.Variable<tf.Rank.R1>;
    const b = tf.variable(tf.zeros([c])) as tf.Variable<tf.Rank.R1>;
    variables.push(g, b);
    return { g, b };
  };
  const n = (depth - 2) / 6;
  const stem = conv(3, 3, 16);
  const stemBn = bn(16);
  const blocks: { c1: tf.Variable<tf.Rank.R4>; b1: ReturnType<typeof bn>; c2: tf.Variable<tf.Rank.R4>; b2: ReturnType<typeof bn>; stride: 1 | 2; out: number }[] = [];
  let cin = 16;
  for (const [stage, width] of [16, 32, 64].entries()) {
    for (let i = 0; i < n; i++) {
      const stride: 1 | 2 = stage > 0 && i === 0 ? 2 : 1;
      blocks.push({ c1: conv(3, cin, width), b1: bn(width), c2: conv(3, width, width), b2: bn(width), stride, out: width });
      cin = width;
    }
  }
  const fcW = tf.variable(tf.tensor2d(normals(64 * 10, Math.sqrt(2 / 64), rng), [64, 10]));
  const fcB = tf.variable(tf.zeros([10]));
  variables.push(fcW, fcB);
  const eps = 1e-5;
  const forward = (x: tf.Tensor4D): tf.Tensor2D => {
    let h = relu(batchNormTrain(conv2d(x, stem, 1), stemBn.g, stemBn.b, eps).y);
    for (const b of blocks) {
      const a = relu(batchNormTrain(conv2d(h, b.c1, b.stride), b.b1.g, b.b1.b, eps).y);
      const c = batchNormTrain(conv2d(a, b.c2, 1), b.b2.g, b.b2.b, eps).y;
      h = relu(tf.add(c, shortcutA(h, b.out, b.stride)));
    }
    return tf.add(tf.matMul(globalAveragePool(h), fcW), fcB);
  };
  const velocities = variables.map((v) => tf.variable(tf.zerosLike(v), false));
  return {
    variables, velocities, forward, momentum, weightDecay,
    dispose: () => { tf.dispose(variables); tf.dispose(velocities); },
  };
}

/** One SGD step; returns loss and number of correct predictions (before the update). */
export function minimalTrainStep(
  state: MinimalState, images: Float32Array, labels: Int32Array, learningRate: number,
): { loss: number; correct: number } {
  const n = labels.length;
  const out = tf.tidy(() => {
    const x = tf.tensor4d(images, [n, 32, 32, 3]);
    const y = tf.tensor1d(labels, 'int32');
    let correct: tf.Tensor = tf.scalar(0);
    const { value, grads } = tf.variableGrads(() => {
      const logits = state.forward(x);
      correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32')));
      return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), logits) as tf.Scalar;
    }, state.variables);
    state.variables.forEach((v, i) => {
      const g = tf.add(grads[v.name], tf.mul(v, state.weightDecay));
      const vel = state.velocities[i];
      vel.assign(tf.add(tf.mul(vel, state.momentum), g));
      v.assign(tf.sub(v, tf.mul(vel, learningRate)));
    });
    const r = tf.stack([value, correct]);
    correct.dispose();
    return r;
  });
  const [loss, correct] = out.dataSync();
  out.dispose();
  return { loss, correct };
}
