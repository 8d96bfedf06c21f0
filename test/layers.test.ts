/**
 * src/model/layers.ts on the wasm backend with the fast kernels registered (fused batch norm,
 * ReLU, shortcut, conv gradients) gives the values and gradients of the same math written with
 * plain tfjs ops, and on the cpu backend (no fused kernels) it is those plain ops.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { relErr } from './helpers';
import '@tensorflow/tfjs-backend-wasm';
import { batchNormInfer, batchNormTrain, conv2d, globalAveragePool, relu, shortcutA } from '../src/model/layers';
import { registerWasmKernels } from '../src/engine/wasm';

const TOL = 1e-4;


function rand(shape: number[], seed: number, scale = 1, offset = 0): tf.Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = (s / 2147483648 - 1) * scale + offset;
  }
  return tf.tensor(v, shape);
}

/** The block math with plain tfjs ops (reference). */
function plainBlock(x: tf.Tensor4D, w: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D, outC: number, stride: 1 | 2) {
  const h = tf.conv2d(x, w, stride, (w.shape[0] - 1) / 2);
  const { mean, variance } = tf.moments(h, [0, 1, 2]);
  const y = tf.batchNorm(h, mean, variance, b, g, 1e-5);
  // x[:, ::2, ::2, :] (even H, W) as reshape + slice (the wasm backend has no gather gradient)
  const [n, hh, ww, cc] = x.shape;
  const sub = stride === 2
    ? tf.reshape(tf.slice(tf.reshape(x, [n, hh / 2, 2, ww / 2, 2, cc]), [0, 0, 0, 0, 0, 0], [n, hh / 2, 1, ww / 2, 1, cc]), [n, hh / 2, ww / 2, cc])
    : x;
  const extra = outC - x.shape[3];
  const sc = tf.pad(sub, [[0, 0], [0, 0], [0, 0], [Math.floor(extra / 2), extra - Math.floor(extra / 2)]]);
  return { out: tf.relu(tf.add(tf.relu(y), sc)), mean, variance };
}

function layersBlock(x: tf.Tensor4D, w: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D, outC: number, stride: 1 | 2) {
  const { y, mean, variance } = batchNormTrain(conv2d(x, w, stride), g, b, 1e-5);
  return { out: relu(tf.add(relu(y), shortcutA(x, outC, stride))), mean, variance };
}

const CASES: { name: string; x: number[]; w: number[]; stride: 1 | 2 }[] = [
  { name: '16->16 stride 1', x: [3, 8, 8, 16], w: [3, 3, 16, 16], stride: 1 },
  { name: '16->32 stride 2', x: [3, 8, 8, 16], w: [3, 3, 16, 32], stride: 2 },
  { name: '32->64 stride 2', x: [2, 8, 8, 32], w: [3, 3, 32, 64], stride: 2 },
];

function compare(block: typeof plainBlock, c: (typeof CASES)[number], seed: number): Float32Array[] {
  return tf.tidy(() => {
    const x = rand(c.x, seed, 1.5, 0.3) as tf.Tensor4D;
    const w = rand(c.w, seed + 1, 0.2) as tf.Tensor4D;
    const g = rand([c.w[3]], seed + 2, 0.5, 1) as tf.Tensor1D;
    const b = rand([c.w[3]], seed + 3, 0.5) as tf.Tensor1D;
    const oShape = [c.x[0], c.x[1] / c.stride, c.x[2] / c.stride, c.w[3]];
    const r = rand(oShape, seed + 4);
    const { out, mean, variance } = block(x, w, g, b, c.w[3], c.stride);
    const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(block(xx as tf.Tensor4D, ww as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, c.w[3], c.stride).out, r)))([x, w, g, b]);
    const pooled = globalAveragePool(out as tf.Tensor4D);
    return [out, mean, variance, pooled, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

const NAMES = ['output', 'batch mean', 'batch variance', 'pooled', 'dx', 'dw', 'dgamma', 'dbeta'];

describe('layers.ts', () => {
  before(async () => {
    assert.ok(await tf.setBackend('wasm'));
    await tf.ready();
    registerWasmKernels();
  });

  for (const [i, c] of CASES.entries()) {
    it(`residual block ${c.name}: fused wasm layers == plain tf ops (values and gradients)`, () => {
      const fast = compare(layersBlock, c, 10 * i + 1);
      const ref = compare(plainBlock, c, 10 * i + 1);
      NAMES.forEach((nm, k) => {
        const e = relErr(fast[k], ref[k]);
        assert.ok(e < TOL, `${nm}: relative error ${e}`);
      });
    });
  }

  it('batchNormInfer uses the given running statistics', () => {
    const [a, b] = tf.tidy(() => {
      const x = rand([2, 4, 4, 8], 5) as tf.Tensor4D;
      const g = rand([8], 6, 0.3, 1) as tf.Tensor1D;
      const bt = rand([8], 7) as tf.Tensor1D;
      const m = rand([8], 8) as tf.Tensor1D;
      const v = rand([8], 9, 0.5, 1) as tf.Tensor1D;
      const ref = tf.add(tf.mul(tf.div(tf.sub(x, m), tf.sqrt(tf.add(v, 1e-5))), g), bt);
      return [batchNormInfer(x, g, bt, m, v, 1e-5).dataSync(), ref.dataSync()];
    });
    assert.ok(relErr(a, b) < TOL);
  });

  it('on the cpu backend (no fused kernels) the layers give the same block as on wasm', async () => {
    const c = CASES[1];
    const fast = compare(layersBlock, c, 77);
    assert.ok(await tf.setBackend('cpu'));
    try {
      const cpu = compare(layersBlock, c, 77);
      NAMES.forEach((nm, k) => {
        const e = relErr(fast[k], cpu[k]);
        assert.ok(e < TOL, `${nm}: relative error ${e}`);
      });
    } finally {
      assert.ok(await tf.setBackend('wasm'));
    }
  });

  it('shortcutA pads the extra channels evenly before and after, subsampling x[:, ::2, ::2]', () => {
    const y = tf.tidy(() => shortcutA(tf.range(0, 2 * 4 * 4 * 2).reshape([2, 4, 4, 2]) as tf.Tensor4D, 6, 2).arraySync()) as number[][][][];
    assert.deepEqual(y[0][0][0], [0, 0, 0, 1, 0, 0]);
    assert.deepEqual(y[0][0][1], [0, 0, 4, 5, 0, 0]);
    assert.deepEqual(y[1][1][1], [0, 0, 32 + 16 + 4, 32 + 16 + 5, 0, 0]);
  });
});
