/**
 * Batch norm (+ ReLU) in inference mode as one pass (src/engine/wasm/fused-infer.ts): bit for bit
 * what tfjs-backend-wasm's own FusedBatchNorm kernel (tf.batchNorm) and the ReLU after it compute, on
 * every ResNet-20 activation shape and an odd one (C not a multiple of 4: the scalar path), against
 * the stock tfjs cpu backend to 1e-6; and the evaluation of a trained model gives the same logits,
 * loss and accuracy with and without it.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { relErr, rand } from './helpers';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../src/engine/wasm';
import { RELU } from '../src/engine/wasm/fused';
import { BN_INFER } from '../src/engine/wasm/fused-infer';
import { createTrainState, evaluate, trainStep } from '../src/train/step';
import type { Cifar10Raw } from '../src/data/cifar10';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const SHAPES: [number, number, number, number][] = [[3, 32, 32, 16], [3, 16, 16, 32], [3, 8, 8, 64], [2, 5, 3, 6]];

interface Case { shape: [number, number, number, number]; x: Float32Array; mean: Float32Array; variance: Float32Array; gamma: Float32Array; beta: Float32Array; cpu: Float32Array }
const cases: Case[] = [];

before(async () => {
  await tf.setBackend('cpu');
  let seed = 7;
  for (const shape of SHAPES) {
    const c = shape[3];
    // activations of several magnitudes, running variances from 1e-4 to ~4 (epsilon matters at the low end)
    const x = rand(size(shape), seed++).map((v, i) => v * (1 + (i % 7)) * 3 + 0.2);
    const mean = rand(c, seed++).map((v) => 0.5 * v);
    const variance = rand(c, seed++).map((v, k) => (k % 3 === 0 ? 1e-4 : 2) * (v + 1.05));
    const gamma = rand(c, seed++).map((v) => v + 1.2);
    const beta = rand(c, seed++);
    const cpu = tf.tidy(() => tf.batchNorm(tf.tensor4d(x, shape), tf.tensor1d(mean), tf.tensor1d(variance), tf.tensor1d(beta), tf.tensor1d(gamma), 1e-5).dataSync() as Float32Array);
    cases.push({ shape, x, mean, variance, gamma, beta, cpu });
  }
  assert.ok(await tf.setBackend('wasm'));
  await tf.ready();
  registerWasmKernels();
});

describe('batch norm in inference mode, one pass', () => {
  it('equals tf.batchNorm (the wasm backend\'s FusedBatchNorm) bit for bit, and then the ReLU, on every ResNet-20 shape and an odd one; the cpu backend to 1e-6', () => {
    for (const c of cases) {
      tf.tidy(() => {
        const [x, mean, variance, gamma, beta] = [tf.tensor4d(c.x, c.shape), tf.tensor1d(c.mean), tf.tensor1d(c.variance), tf.tensor1d(c.gamma), tf.tensor1d(c.beta)];
        const stock = tf.batchNorm(x, mean, variance, beta, gamma, 1e-5);
        const fused = tf.engine().runKernel(BN_INFER, { x, mean, variance, gamma, beta }, { epsilon: 1e-5 }) as tf.Tensor;
        const fusedRelu = tf.engine().runKernel(BN_INFER, { x, mean, variance, gamma, beta }, { epsilon: 1e-5, relu: true }) as tf.Tensor;
        const stockRelu = tf.engine().runKernel(RELU, { x: stock }) as tf.Tensor;
        const y = fused.dataSync();
        assert.deepEqual(new Uint32Array(y.buffer.slice(0)), new Uint32Array((stock.dataSync() as Float32Array).slice().buffer), `${c.shape}: the same bits as FusedBatchNorm`);
        assert.deepEqual(new Uint32Array((fusedRelu.dataSync() as Float32Array).slice().buffer), new Uint32Array((stockRelu.dataSync() as Float32Array).slice().buffer), `${c.shape}: with the ReLU`);
        assert.ok(Array.from(fusedRelu.dataSync()).some((v) => v === 0) && Array.from(fusedRelu.dataSync()).some((v) => v > 0));
        const e = relErr(y, c.cpu);
        assert.ok(e < 1e-6, `${c.shape}: relative error ${e} against the cpu backend`);
      });
    }
  });

  it('a parameter of the wrong length is one error naming it', () => {
    tf.tidy(() => {
      const x = tf.zeros([1, 2, 2, 4]);
      const four = tf.ones([4]);
      assert.throws(() => tf.engine().runKernel(BN_INFER, { x, mean: tf.zeros([3]), variance: four, gamma: four, beta: four }, { epsilon: 1e-5 }),
        /ResNetBatchNormInfer: mean has 3 values for 4 channels/);
    });
  });

  it('a trained model evaluates to the same logits, loss and accuracy with and without it', () => {
    const state = createTrainState({ depth: 20, seed: 3 });
    const n = 40;
    const images = rand(n * 3072, 91);
    const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
    // a few steps so that the running statistics are no longer 0 and 1
    for (let s = 0; s < 3; s++) trainStep(state, images.subarray(0, 16 * 3072), labels.subarray(0, 16), 0.05);
    const raw: Cifar10Raw = { count: n, images: Uint8Array.from(images, (v) => Math.floor((v + 1) * 127.5)), labels: Uint8Array.from(labels) };
    const logits = () => tf.tidy(() => (state.model.forward(tf.tensor4d(images, [n, 32, 32, 3]), false).logits.dataSync() as Float32Array).slice());
    const withFused = { logits: logits(), eval: evaluate(state.model, raw, 16) };
    const kernel = tf.getKernel(BN_INFER, 'wasm')!;
    tf.unregisterKernel(BN_INFER, 'wasm');
    try {
      const without = { logits: logits(), eval: evaluate(state.model, raw, 16) };
      assert.deepEqual(new Uint32Array(withFused.logits.buffer), new Uint32Array(without.logits.buffer));
      assert.deepEqual(withFused.eval, without.eval);
    } finally {
      tf.registerKernel(kernel);
      state.dispose();
    }
  });
});
