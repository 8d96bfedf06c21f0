/**
 * The one-pass kernels of src/engine/wasm/fused-step.ts (batch norm + ReLU, residual add + ReLU,
 * SGD update) against the stock tfjs cpu kernels on every ResNet-20 activation shape (small
 * batches), and bit for bit against the chains of wasm ops they replace (a training step gives
 * the same bits with and without them).
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { relErr, rand } from './helpers';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../src/engine/wasm';
import { BN_TRAIN, RELU } from '../src/engine/wasm/fused';
import { ADD_RELU, BN_TRAIN_RELU, SGD_UPDATE } from '../src/engine/wasm/fused-step';
import { createTrainState, trainStep } from '../src/train/step';

const TOL = 1e-4;
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** Every activation shape of ResNet-20 (stages 1-3), batch 2, and an odd one (the scalar paths: C not a multiple of 4, a tail of 16). */
const SHAPES: [number, number, number, number][] = [[2, 32, 32, 16], [2, 16, 16, 32], [2, 8, 8, 64], [3, 3, 3, 6]];

interface Ref { shape: number[]; a: Float32Array; b: Float32Array; g: Float32Array; beta: Float32Array; r: Float32Array; out: Float32Array[] }
const bnRefs: Ref[] = [];
const addRefs: Ref[] = [];

function bnReluPlain(x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor[] {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return [tf.relu(tf.batchNorm(x, mean, variance, b, g, 1e-5)), mean, variance];
}

before(async () => {
  await tf.setBackend('cpu');
  let seed = 100;
  for (const shape of SHAPES) {
    const c = shape[3];
    const a = rand(size(shape), seed++).map((v, i) => 2 * v + 0.3 + (i % c) * 0.05);
    const b = rand(size(shape), seed++);
    const g = rand(c, seed++).map((v) => v + 1.5);
    const beta = rand(c, seed++);
    const r = rand(size(shape), seed++);
    bnRefs.push({ shape, a, b, g, beta, r, out: tf.tidy(() => {
      const [x, gt, bt, rt] = [tf.tensor4d(a, shape), tf.tensor1d(g), tf.tensor1d(beta), tf.tensor4d(r, shape)];
      const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.mul(bnReluPlain(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D)[0], rt)))([x, gt, bt]);
      return [...bnReluPlain(x, gt, bt), ...grads].map((t) => t.dataSync() as Float32Array);
    }) });
    addRefs.push({ shape, a, b, g, beta, r, out: tf.tidy(() => {
      const [x, y, rt] = [tf.tensor(a, shape), tf.tensor(b, shape), tf.tensor(r, shape)];
      const f = (p: tf.Tensor, q: tf.Tensor) => tf.relu(tf.add(p, q));
      return [f(x, y), ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(f(p, q), rt)))([x, y])].map((t) => t.dataSync() as Float32Array);
    }) });
  }
  assert.ok(await tf.setBackend('wasm'));
  await tf.ready();
  registerWasmKernels();
});

describe('fused step kernels vs the cpu backend', () => {
  it('batch norm + ReLU (training): y, mean, variance and the gradients, every ResNet-20 shape', () => {
    for (const c of bnRefs) {
      const out = tf.tidy(() => {
        const [x, g, b, r] = [tf.tensor4d(c.a, c.shape as [number, number, number, number]), tf.tensor1d(c.g), tf.tensor1d(c.beta), tf.tensor(c.r, c.shape)];
        const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.engine().runKernel(BN_TRAIN_RELU, { x: xx, gamma: gg, beta: bb }, { epsilon: 1e-5 }) as tf.Tensor[];
        const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx, gg, bb)[0], r)))([x, g, b]);
        // bit for bit the two kernels it replaces
        const [y2] = tf.engine().runKernel(BN_TRAIN, { x, gamma: g, beta: b }, { epsilon: 1e-5 }) as tf.Tensor[];
        const y1 = f(x, g, b)[0];
        assert.deepEqual(Array.from(y1.dataSync()), Array.from((tf.engine().runKernel(RELU, { x: y2 }) as tf.Tensor).dataSync()));
        return [...f(x, g, b), ...grads].map((t) => t.dataSync());
      });
      ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'].forEach((nm, i) => {
        const e = relErr(out[i], c.out[i]);
        assert.ok(e < TOL, `${c.shape} ${nm}: relative error ${e}`);
      });
    }
  });

  it('residual add + ReLU and its gradients: exact, every ResNet-20 shape', () => {
    for (const c of addRefs) {
      const out = tf.tidy(() => {
        const [a, b, r] = [tf.tensor(c.a, c.shape), tf.tensor(c.b, c.shape), tf.tensor(c.r, c.shape)];
        const f = (p: tf.Tensor, q: tf.Tensor) => tf.engine().runKernel(ADD_RELU, { a: p, b: q }) as tf.Tensor;
        return [f(a, b), ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(f(p, q), r)))([a, b])].map((t) => t.dataSync());
      });
      // exact, up to the sign of zero (the cpu gradient is dy * step(x), which can be -0)
      ['y', 'da', 'db'].forEach((nm, i) => assert.equal(relErr(out[i], c.out[i]), 0, `${c.shape} ${nm}`));
    }
    assert.throws(() => tf.engine().runKernel(ADD_RELU, { a: tf.zeros([2, 4]), b: tf.zeros([4]) }), /shapes differ/);
  });

  it('SGD update: bit for bit the tfjs ops of src/train/sgd.ts (momentum, weight decay, lr), on wasm and on cpu', async () => {
    const n = 4096;
    const [p, v, g] = [rand(n, 7).map((x) => x * 3), rand(n, 8), rand(n, 9).map((x) => x * 1e-3)];
    for (const [lr, mu, wd] of [[0.1, 0.9, 1e-4], [0.0123, 0.9, 0], [1e-3, 0, 5e-4]]) {
      const plain = () => tf.tidy(() => {
        const [pt, vt, gt] = [tf.tensor1d(p), tf.tensor1d(v), tf.tensor1d(g)];
        const gd = wd > 0 ? tf.add(gt, tf.mul(tf.scalar(wd), pt)) : gt;
        const vn = tf.add(tf.mul(tf.scalar(mu), vt), gd);
        return [tf.sub(pt, tf.mul(tf.scalar(lr), vn)), vn].map((t) => Array.from(t.dataSync()));
      });
      const fused = tf.tidy(() => (tf.engine().runKernel(SGD_UPDATE, { p: tf.tensor1d(p), v: tf.tensor1d(v), g: tf.tensor1d(g) },
        { learningRate: lr, momentum: mu, weightDecay: wd }) as tf.Tensor[]).map((t) => Array.from(t.dataSync())));
      assert.deepEqual(fused, plain(), `lr ${lr} momentum ${mu} weight decay ${wd}: wasm ops`);
      assert.ok(await tf.setBackend('cpu'));
      assert.deepEqual(fused, plain(), `lr ${lr} momentum ${mu} weight decay ${wd}: cpu ops`);
      assert.ok(await tf.setBackend('wasm'));
    }
  });

  it('three ResNet-20 training steps give the same bits with and without the fused step kernels', () => {
    const n = 8;
    const images = rand(n * 3072, 11);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
    const run = () => {
      const s = createTrainState({ depth: 20, seed: 3 });
      const counts: number[] = [];
      const losses = [0.1, 0.05, 0.02].map((lr) => {
        const l = trainStep(s, images, labels, lr).loss;
        counts.push(tf.memory().numTensors);
        return l;
      });
      assert.ok(counts.every((c) => c === counts[0]), `live tensors flat over the steps: ${counts}`);
      const vars = [...s.model.trainable, ...s.model.runningStatistics, ...s.optimizer.velocities].map((x) => Array.from(x.dataSync()));
      s.dispose();
      return { losses, vars };
    };
    const fused = run();
    const kernels = [ADD_RELU, BN_TRAIN_RELU, SGD_UPDATE].map((k) => tf.getKernel(k, 'wasm')!);
    kernels.forEach((k) => tf.unregisterKernel(k.kernelName, 'wasm'));
    try {
      const plain = run();
      assert.deepEqual(fused.losses, plain.losses);
      assert.ok(fused.vars.every((x, i) => x.every((y, j) => Object.is(y, plain.vars[i][j]))), 'weights, running statistics, velocities');
    } finally {
      kernels.forEach((k) => tf.registerKernel(k));
    }
  });
});
