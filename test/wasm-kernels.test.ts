/**
 * The fast wasm kernels (src/engine/wasm) against the cpu backend's stock kernels, on random
 * inputs, for every convolution shape / stride ResNet-20 uses (small batches: the cpu backend is
 * slow), plus the fused batch-norm / ReLU / shortcut kernels and memory hygiene.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { relErr, rand } from './helpers';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../src/engine/wasm';
import { setConvRoute, setFilterGradRoute } from '../src/engine/wasm/conv';
import { BN_TRAIN, RELU, SHORTCUT_A } from '../src/engine/wasm/fused';
import { createMinimalState, minimalTrainStep } from '../src/bench/minimalStep';

const TOL = 1e-4;



const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** [H, Cin, Cout, stride, k]: every conv of ResNet-20 (stem, three stages, two downsampling), plus 1x1. */
const CONVS: [number, number, number, 1 | 2, number][] = [
  [32, 3, 16, 1, 3], [32, 16, 16, 1, 3], [16, 32, 32, 1, 3], [8, 64, 64, 1, 3],
  [32, 16, 32, 2, 3], [16, 32, 64, 2, 3], [32, 16, 32, 2, 1], [16, 32, 32, 1, 1],
];
const BATCHES = [2, 4];

interface ConvCase {
  name: string; x: Float32Array; w: Float32Array; dy: Float32Array;
  xShape: [number, number, number, number]; wShape: [number, number, number, number]; dyShape: [number, number, number, number];
  stride: 1 | 2; pad: 'same' | number; y: Float32Array; dx: Float32Array; dw: Float32Array;
}

interface BnCase {
  c: number; shape: [number, number, number, number]; x: Float32Array; g: Float32Array; b: Float32Array; r: Float32Array;
  y: Float32Array; mean: Float32Array; variance: Float32Array; dx: Float32Array; dg: Float32Array; db: Float32Array;
}

const convCases: ConvCase[] = [];
const bnCases: BnCase[] = [];
let reluRef: { x: Float32Array; r: Float32Array; y: Float32Array; dx: Float32Array; shape: number[] };
let shortRef: { x: Float32Array; r: Float32Array; y: Float32Array; dx: Float32Array; shape: [number, number, number, number]; out: number; stride: 1 | 2 }[] = [];

function bnPlain(x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D) {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return { y: tf.batchNorm(x, mean, variance, b, g, 1e-5), mean, variance };
}

function shortcutPlain(x: tf.Tensor4D, out: number, stride: 1 | 2): tf.Tensor4D {
  // x[:, ::2, ::2, :] as a gather of the even rows and columns (StridedSlice has no gradient)
  const even = (len: number) => tf.tensor1d(Array.from({ length: Math.ceil(len / 2) }, (_, i) => 2 * i), 'int32');
  const sub = stride === 2 ? tf.gather(tf.gather(x, even(x.shape[1]), 1), even(x.shape[2]), 2) as tf.Tensor4D : x;
  const extra = out - x.shape[3];
  return tf.pad(sub, [[0, 0], [0, 0], [0, 0], [Math.floor(extra / 2), extra - Math.floor(extra / 2)]]);
}

before(async () => {
  await tf.setBackend('cpu');
  let seed = 1;
  // 'same' (TensorFlow) and symmetric (k-1)/2 (PyTorch, what src/model/layers.ts uses)
  for (const n of BATCHES) for (const padMode of ['same', 'sym'] as const) {
    for (const [h, cin, cout, stride, k] of CONVS) {
      const pad = padMode === 'same' ? 'same' : (k - 1) / 2;
      const xShape: [number, number, number, number] = [n, h, h, cin];
      const wShape: [number, number, number, number] = [k, k, cin, cout];
      const dyShape: [number, number, number, number] = [n, Math.ceil(h / stride), Math.ceil(h / stride), cout];
      const xv = rand(size(xShape), seed++);
      const wv = rand(size(wShape), seed++);
      const dyv = rand(size(dyShape), seed++);
      const [y, dx, dw] = tf.tidy(() => {
        const x = tf.tensor4d(xv, xShape);
        const w = tf.tensor4d(wv, wShape);
        const dy = tf.tensor4d(dyv, dyShape);
        const out = tf.conv2d(x, w, stride, pad).dataSync() as Float32Array;
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), dy)));
        return [out, ...g([x, w]).map((t) => t.dataSync() as Float32Array)];
      });
      convCases.push({ name: `N${n} ${h}x${h}x${cin}->${cout} k${k} s${stride} pad ${pad}`, x: xv, w: wv, dy: dyv, xShape, wShape, dyShape, stride, pad, y, dx, dw });
    }
  }
  for (const [c, h] of [[16, 8], [32, 4], [64, 4], [6, 3]]) {
    const shape: [number, number, number, number] = [4, h, h, c];
    // non-zero mean and scale so that the variance computation is exercised
    const x = rand(size(shape), seed++).map((v, i) => 3 * v + 2 + (i % c) * 0.1);
    const g = rand(c, seed++).map((v) => v + 1.5);
    const b = rand(c, seed++);
    const r = rand(size(shape), seed++);
    const out = tf.tidy(() => {
      const xt = tf.tensor4d(x, shape);
      const gt = tf.tensor1d(g);
      const bt = tf.tensor1d(b);
      const { y, mean, variance } = bnPlain(xt, gt, bt);
      const grads = tf.grads((a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.mul(bnPlain(a as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D).y, tf.tensor4d(r, shape))))([xt, gt, bt]);
      return [y, mean, variance, ...grads].map((t) => t.dataSync() as Float32Array);
    });
    bnCases.push({ c, shape, x, g, b, r, y: out[0], mean: out[1], variance: out[2], dx: out[3], dg: out[4], db: out[5] });
  }
  {
    const shape = [3, 5, 7, 16];
    const x = rand(size(shape), seed++);
    const r = rand(size(shape), seed++);
    const [y, dx] = tf.tidy(() => {
      const xt = tf.tensor(x, shape);
      const rt = tf.tensor(r, shape);
      return [tf.relu(xt), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), rt)))(xt)].map((t) => t.dataSync() as Float32Array);
    });
    reluRef = { x, r, y, dx, shape };
  }
  for (const [shape, out, stride] of [[[2, 32, 32, 16], 32, 2], [[2, 16, 16, 32], 64, 2], [[2, 4, 4, 6], 10, 1]] as [[number, number, number, number], number, 1 | 2][]) {
    const x = rand(size(shape), seed++);
    const oShape = [shape[0], Math.ceil(shape[1] / stride), Math.ceil(shape[2] / stride), out];
    const r = rand(size(oShape), seed++);
    const [y, dx] = tf.tidy(() => {
      const xt = tf.tensor4d(x, shape);
      const rt = tf.tensor(r, oShape);
      return [shortcutPlain(xt, out, stride), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(shortcutPlain(a as tf.Tensor4D, out, stride), rt)))(xt)]
        .map((t) => t.dataSync() as Float32Array);
    });
    shortRef.push({ x, r, y, dx, shape, out, stride });
  }
  assert.ok(await tf.setBackend('wasm'));
  await tf.ready();
});

describe('registerWasmKernels', () => {
  it('registers the gradient and fused kernels, idempotently', () => {
    const names = registerWasmKernels();
    for (const k of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', BN_TRAIN, RELU, SHORTCUT_A, 'Identity']) {
      assert.ok(names.includes(k), k);
      assert.ok(tf.getKernel(k, 'wasm') != null, k);
    }
    assert.deepEqual(registerWasmKernels(), names);
  });
});

describe('convolutions vs the cpu backend', () => {
  for (const route of ['simd', 'xnnpack'] as const) {
    it(`Conv2D, ${route} route (every ResNet-20 shape, strides 1 and 2, 3x3 and 1x1)`, () => {
      registerWasmKernels();
      setConvRoute(route);
      try {
        for (const c of convCases) {
          const y = tf.tidy(() => tf.conv2d(tf.tensor4d(c.x, c.xShape), tf.tensor4d(c.w, c.wShape), c.stride, c.pad).dataSync());
          const e = relErr(y, c.y);
          assert.ok(e < TOL, `${c.name}: y relative error ${e}`);
        }
      } finally {
        setConvRoute('simd');
      }
    });

    it(`Conv2DBackpropInput, ${route} route`, () => {
      registerWasmKernels();
      setConvRoute(route);
      try {
        for (const c of convCases) {
          const dx = tf.tidy(() => tf.conv2dTranspose(tf.tensor4d(c.dy, c.dyShape), tf.tensor4d(c.w, c.wShape), c.xShape, c.stride, c.pad).dataSync());
          const e = relErr(dx, c.dx);
          assert.ok(e < TOL, `${c.name}: dx relative error ${e}`);
        }
      } finally {
        setConvRoute('simd');
      }
    });
  }

  it('odd sizes and channel counts (generic paths)', async () => {
    registerWasmKernels();
    // [N, H, W, Cin, Cout, k, stride, pad]
    const odd: [number, number, number, number, number, number, 1 | 2, 'same' | 'valid' | number][] = [
      [3, 7, 9, 8, 12, 3, 2, 1], [2, 5, 5, 6, 4, 3, 1, 'same'], [2, 9, 7, 4, 8, 3, 2, 'valid'], [1, 6, 6, 5, 3, 1, 2, 0],
    ];
    const refs: Float32Array[][] = [];
    const inputs: Float32Array[][] = [];
    assert.ok(await tf.setBackend('cpu'));
    try {
      odd.forEach(([n, h, w, ci, co, k, s, p], i) => {
        const xv = rand(n * h * w * ci, 900 + i);
        const wv = rand(k * k * ci * co, 950 + i);
        inputs.push([xv, wv]);
        refs.push(tf.tidy(() => {
          const x = tf.tensor4d(xv, [n, h, w, ci]);
          const f = tf.tensor4d(wv, [k, k, ci, co]);
          const y = tf.conv2d(x, f, s, p);
          const r = tf.onesLike(y).mul(tf.range(0, y.size).reshape(y.shape).mod(7).sub(3));
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p), r)))([x, f]);
          return [y, ...g].map((t) => t.dataSync() as Float32Array);
        }));
      });
    } finally {
      assert.ok(await tf.setBackend('wasm'));
    }
    odd.forEach(([n, h, w, ci, co, k, s, p], i) => {
      const got = tf.tidy(() => {
        const x = tf.tensor4d(inputs[i][0], [n, h, w, ci]);
        const f = tf.tensor4d(inputs[i][1], [k, k, ci, co]);
        const y = tf.conv2d(x, f, s, p);
        const r = tf.onesLike(y).mul(tf.range(0, y.size).reshape(y.shape).mod(7).sub(3));
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p), r)))([x, f]);
        return [y, ...g].map((t) => t.dataSync() as Float32Array);
      });
      ['y', 'dx', 'dw'].forEach((nm, k2) => {
        const e = relErr(got[k2], refs[i][k2]);
        assert.ok(e < TOL, `case ${i} ${nm}: relative error ${e}`);
      });
    });
  });

  for (const route of ['simd', 'xnnpack'] as const) {
    it(`Conv2DBackpropFilter, ${route} route`, () => {
      registerWasmKernels();
      setFilterGradRoute(route);
      try {
        for (const c of convCases) {
          const dw = tf.tidy(() => {
            const x = tf.tensor4d(c.x, c.xShape);
            const dy = tf.tensor4d(c.dy, c.dyShape);
            return (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
              { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: c.wShape }) as tf.Tensor).dataSync();
          });
          const e = relErr(dw, c.dw);
          assert.ok(e < TOL, `${c.name}: dW relative error ${e}`);
        }
      } finally {
        setFilterGradRoute('simd');
      }
    });
  }

  it('tf.grads of conv2d on wasm matches the cpu gradients', () => {
    registerWasmKernels();
    for (const c of convCases.slice(0, 2 * CONVS.length)) {
      const [dx, dw] = tf.tidy(() => {
        const dy = tf.tensor4d(c.dy, c.dyShape);
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy)));
        return g([tf.tensor4d(c.x, c.xShape), tf.tensor4d(c.w, c.wShape)]).map((t) => t.dataSync());
      });
      assert.ok(relErr(dx, c.dx) < TOL, `${c.name} dx`);
      assert.ok(relErr(dw, c.dw) < TOL, `${c.name} dw`);
    }
  });

  it('filter gradient matches central finite differences', () => {
    registerWasmKernels();
    const c = convCases[1];
    const x = tf.tensor4d(c.x, c.xShape);
    const dy = tf.tensor4d(c.dy, c.dyShape);
    const f = (wv: Float32Array) => tf.tidy(() => tf.sum(tf.mul(tf.conv2d(x, tf.tensor4d(wv, c.wShape), c.stride, c.pad), dy)).dataSync()[0]);
    const dw = tf.tidy(() => tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, w as tf.Tensor4D, c.stride, c.pad), dy)))(tf.tensor4d(c.w, c.wShape)).dataSync());
    for (const i of [0, 37, 500, c.w.length - 1]) {
      const h = 0.5; // the loss is linear in w: a large step is exact and keeps float32 rounding small
      const p = Float32Array.from(c.w); p[i] += h;
      const m = Float32Array.from(c.w); m[i] -= h;
      const num = (f(p) - f(m)) / (2 * h);
      assert.ok(Math.abs(num - dw[i]) <= 1e-3 * Math.max(1, Math.abs(num)), `dw[${i}] ${dw[i]} vs ${num}`);
    }
    tf.dispose([x, dy]);
  });
});

describe('fused kernels vs plain tf ops on the cpu backend', () => {
  it('batch norm (training): y, mean, biased variance and gradients', () => {
    registerWasmKernels();
    for (const c of bnCases) {
      const out = tf.tidy(() => {
        const x = tf.tensor4d(c.x, c.shape);
        const g = tf.tensor1d(c.g);
        const b = tf.tensor1d(c.b);
        const r = tf.tensor4d(c.r, c.shape);
        const [y, mean, variance] = tf.engine().runKernel(BN_TRAIN, { x, gamma: g, beta: b }, { epsilon: 1e-5 }) as tf.Tensor[];
        const grads = tf.grads((a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.mul((tf.engine().runKernel(BN_TRAIN, { x: a, gamma: gg, beta: bb }, { epsilon: 1e-5 }) as tf.Tensor[])[0], r)))([x, g, b]);
        return [y, mean, variance, ...grads].map((t) => t.dataSync());
      });
      const names = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];
      const refs = [c.y, c.mean, c.variance, c.dx, c.dg, c.db];
      names.forEach((nm, i) => {
        const e = relErr(out[i], refs[i]);
        assert.ok(e < TOL, `C=${c.c} ${nm}: relative error ${e}`);
      });
    }
  });

  it('ReLU and its gradient', () => {
    registerWasmKernels();
    const [y, dx] = tf.tidy(() => {
      const x = tf.tensor(reluRef.x, reluRef.shape);
      const r = tf.tensor(reluRef.r, reluRef.shape);
      return [tf.engine().runKernel(RELU, { x }) as tf.Tensor,
        tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.engine().runKernel(RELU, { x: a }) as tf.Tensor, r)))(x)].map((t) => t.dataSync());
    });
    // exact, up to the sign of zero (the cpu gradient is dy * step(x), which can be -0)
    assert.equal(relErr(y, reluRef.y), 0);
    assert.equal(relErr(dx, reluRef.dx), 0);
  });

  it('option-A shortcut and its gradient', () => {
    registerWasmKernels();
    for (const s of shortRef) {
      const [y, dx] = tf.tidy(() => {
        const x = tf.tensor4d(s.x, s.shape);
        const r = tf.tensor(s.r, [s.shape[0], Math.ceil(s.shape[1] / s.stride), Math.ceil(s.shape[2] / s.stride), s.out]);
        const f = (a: tf.Tensor) => tf.engine().runKernel(SHORTCUT_A, { x: a }, { outChannels: s.out, stride: s.stride }) as tf.Tensor;
        return [f(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), r)))(x)].map((t) => t.dataSync());
      });
      assert.deepEqual(Array.from(y), Array.from(s.y));
      assert.deepEqual(Array.from(dx), Array.from(s.dx));
    }
  });
});

describe('memory', () => {
  it('kernels and gradients leave no tensors or heap buffers behind', () => {
    registerWasmKernels();
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const c = convCases[CONVS.length + 4];
    const bn = bnCases[0];
    const x = tf.tensor4d(c.x, c.xShape);
    const w = tf.tensor4d(c.w, c.wShape);
    const g = tf.tensor1d(bn.g.slice(0, c.wShape[3]));
    const b = tf.tensor1d(bn.b.slice(0, c.wShape[3]));
    const wv = tf.variable(w, true, 'mem_w');
    const step = () => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const h = tf.conv2d(x, wv as tf.Tensor4D, c.stride, c.pad);
        const y = (tf.engine().runKernel(BN_TRAIN, { x: h, gamma: g, beta: b }, { epsilon: 1e-5 }) as tf.Tensor[])[0];
        const z = tf.add(tf.engine().runKernel(RELU, { x: y }) as tf.Tensor,
          tf.engine().runKernel(SHORTCUT_A, { x }, { outChannels: c.wShape[3], stride: c.stride }) as tf.Tensor);
        return tf.sum(tf.square(z)) as tf.Scalar;
      }, [wv]);
      tf.dispose(Object.values(grads));
      return value.dataSync()[0];
    });
    step();
    const tensors = tf.memory().numTensors;
    const ids = backend.numDataIds();
    for (let i = 0; i < 5; i++) step();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(backend.numDataIds(), ids);
    tf.dispose([x, w, g, b, wv]);
  });

  it('200 ResNet-20 training steps: no tensor, heap-buffer or wasm-memory growth', () => {
    registerWasmKernels();
    const backend = tf.backend() as unknown as { numDataIds(): number; wasm: { HEAPU8: Uint8Array } };
    const state = createMinimalState(20, 3);
    const n = 4;
    const images = new Float32Array(n * 3072).map((_, i) => Math.sin(i * 0.37));
    const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
    const losses: number[] = [];
    for (let i = 0; i < 5; i++) losses.push(minimalTrainStep(state, images, labels, 0.05).loss);
    const tensors = tf.memory().numTensors;
    const ids = backend.numDataIds();
    const heap = backend.wasm.HEAPU8.buffer.byteLength;
    for (let i = 0; i < 195; i++) {
      const r = minimalTrainStep(state, images, labels, 0.05);
      if (i % 50 === 0) losses.push(r.loss);
      assert.equal(tf.memory().numTensors, tensors, `step ${i + 5}`);
    }
    assert.equal(backend.numDataIds(), ids);
    assert.equal(backend.wasm.HEAPU8.buffer.byteLength, heap, 'wasm memory grew');
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
    assert.ok(losses[losses.length - 1] < losses[0], `training on one batch lowers its loss: ${losses}`);
    state.dispose();
  });

  it('Identity shares the data (no copy) and frees it with the last reference', () => {
    registerWasmKernels();
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before0 = backend.numDataIds();
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    assert.equal(backend.numDataIds(), before0 + 1);
    a.dispose();
    assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3]);
    b.dispose();
    assert.equal(backend.numDataIds(), before0);
  });
});
