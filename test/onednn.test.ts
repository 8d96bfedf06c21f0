/**
 * The optional oneDNN convolutions (src/engine/onednn.ts, native/onednn): every ResNet-20
 * convolution and both gradients against the stock tfjs cpu backend (an independent
 * implementation) to 1e-4 relative; bit-for-bit repeatability; a 200-step training loss curve
 * against the direct wasm kernels; engine selection with and without the addon; and the
 * install-time build never failing without a compiler or oneDNN.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { loadOneDnn } from '../src/engine/onednn';
import { selectEngine } from '../src/engine/engine';
import { createTrainState, trainStep } from '../src/train/step';
import { requireComponent } from './fixtures/components';
import { EMBEDDED, ROOT, rand, relErr, tmpDir } from './helpers';

const missing = loadOneDnn();
const skip = requireComponent('onednn', missing ?? false, __filename);
const TOL = 1e-4;



/** [N, H, Cin, Cout, stride, k, pad]: every conv of ResNet-20 at batch 4 (stem, stages, downsampling), a 1x1, TF 'same' and odd sizes. */
const CASES: [number, number, number, number, 1 | 2, number, number | 'same' | 'valid'][] = [
  [4, 32, 3, 16, 1, 3, 1], [4, 32, 16, 16, 1, 3, 1], [4, 16, 32, 32, 1, 3, 1], [4, 8, 64, 64, 1, 3, 1],
  [4, 32, 16, 32, 2, 3, 1], [4, 16, 32, 64, 2, 3, 1], [2, 16, 32, 32, 1, 1, 0], [2, 32, 16, 32, 2, 3, 'same'],
  [3, 7, 8, 12, 2, 3, 1], [2, 9, 4, 8, 2, 3, 'valid'],
];

interface Ref { name: string; x: Float32Array; w: Float32Array; r: Float32Array; xs: [number, number, number, number]; ws: [number, number, number, number]; s: 1 | 2; p: number | 'same' | 'valid'; out: Float32Array[] }
const refs: Ref[] = [];

/** y, dL/dx, dL/dw of L = sum(conv(x, w) * r) on the current backend. */
function convAndGrads(c: Ref): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(c.x, c.xs);
    const w = tf.tensor4d(c.w, c.ws);
    const y = tf.conv2d(x, w, c.s, c.p);
    const r = tf.tensor(c.r, y.shape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.p), r)))([x, w]);
    return [y, ...g].map((t) => t.dataSync() as Float32Array);
  });
}

describe('oneDNN convolutions', { skip }, () => {
  before(async () => {
    await tf.setBackend('cpu');
    CASES.forEach(([n, h, ci, co, s, k, p], i) => {
      const c: Ref = { name: `N${n} ${h}x${h}x${ci}->${co} k${k} s${s} pad ${p}`, x: rand(n * h * h * ci, 10 + i), w: rand(k * k * ci * co, 50 + i), r: new Float32Array(0), xs: [n, h, h, ci], ws: [k, k, ci, co], s, p, out: [] };
      const ho = tf.tidy(() => tf.conv2d(tf.zeros(c.xs) as tf.Tensor4D, tf.zeros(c.ws) as tf.Tensor4D, s, p).shape);
      c.r = rand(ho.reduce((a, b) => a * b, 1), 90 + i);
      c.out = convAndGrads(c);
      refs.push(c);
    });
    const engine = await selectEngine({ backend: 'onednn' });
    assert.equal(engine.backend, 'onednn');
  });

  it('forward, input gradient and filter gradient match the cpu backend to 1e-4 relative (all ResNet-20 shapes)', () => {
    for (const c of refs) {
      const got = convAndGrads(c);
      ['y', 'dx', 'dw'].forEach((nm, k) => {
        const e = relErr(got[k], c.out[k]);
        assert.ok(e < TOL, `${c.name} ${nm}: relative error ${e}`);
      });
    }
  });

  it('repeats bit for bit (same inputs -> same bits, kernels and a training step)', () => {
    for (const c of refs.slice(0, 6)) {
      const a = convAndGrads(c);
      const b = convAndGrads(c);
      a.forEach((t, k) => assert.deepEqual(Buffer.from(t.buffer), Buffer.from(b[k].buffer), `${c.name} output ${k}`));
    }
    const images = rand(8 * 3072, 7);
    const labels = Int32Array.from({ length: 8 }, (_, i) => i % 10);
    const losses = [0, 1].map(() => {
      const state = createTrainState({ depth: 20, seed: 5, momentum: 0.9, weightDecay: 1e-4 });
      const out = [0, 1, 2].map(() => trainStep(state, images, labels, 0.1).loss);
      state.dispose();
      return out;
    });
    assert.deepEqual(losses[0], losses[1]);
  });

  it('leaks no tensors and no heap across steps', () => {
    const before = tf.memory().numTensors;
    for (const c of refs.slice(0, 4)) convAndGrads(c);
    assert.equal(tf.memory().numTensors, before);
  });
});

function engineIn(env: NodeJS.ProcessEnv, backend: string): { status: number | null; out: string; err: string } {
  const script = `require(${JSON.stringify(path.join(ROOT, 'dist', 'engine', 'engine.js'))}).selectEngine({ backend: ${JSON.stringify(backend)} })
    .then((e) => console.log(JSON.stringify(e)), (e) => { console.error(e.message); process.exit(3); })`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('engine selection', { skip }, () => {
  it('auto picks oneDNN when the addon is built, and records its version and ISA', () => {
    const r = engineIn({}, 'auto');
    assert.equal(r.status, 0, r.err);
    const e = JSON.parse(r.out) as { backend: string; tfBackend: string; kernels: string[]; versions: Record<string, string> };
    assert.equal(e.backend, 'onednn');
    assert.equal(e.tfBackend, 'wasm');
    for (const k of ['Conv2D:onednn', 'Conv2DBackpropInput:onednn', 'Conv2DBackpropFilter:onednn', 'ResNetBatchNormTrain']) assert.ok(e.kernels.includes(k), k);
    assert.match(e.versions.onednn, /^\d+\.\d+\.\d+ \(\w+\)$/);
  });

  it('WS_ONEDNN=0: auto falls back to the wasm kernels and says why; a forced onednn is one clear error', () => {
    const r = engineIn({ WS_ONEDNN: '0' }, 'auto');
    assert.equal(r.status, 0, r.err);
    const e = JSON.parse(r.out) as { backend: string; kernels: string[]; skipped: string[] };
    assert.equal(e.backend, 'wasm');
    assert.ok(e.kernels.includes('Conv2D') && !e.kernels.some((k) => k.endsWith(':onednn')));
    assert.ok(e.skipped.some((s) => /WS_ONEDNN=0/.test(s)), e.skipped.join('; '));
    const f = engineIn({ WS_ONEDNN: '0' }, 'onednn');
    assert.equal(f.status, 3);
    assert.equal(f.err.trim(), 'backend onednn cannot be used: oneDNN convolutions are off (WS_ONEDNN=0)');
  });
});

describe('install-time build (scripts/build-native.js)', () => {
  const script = path.join(ROOT, 'scripts', 'build-native.js');
  const copy = () => {
    const dir = path.join(tmpDir('ws-onednn-'), 'onednn');
    fs.cpSync(path.join(ROOT, 'native', 'onednn'), dir, { recursive: true, filter: (f) => !f.includes(`${path.sep}build`) });
    return dir;
  };

  it('without a C++ compiler: exit 0, one line naming what is missing, no addon', () => {
    const dir = copy();
    const r = spawnSync(process.execPath, [script, '--dir', dir], { encoding: 'utf8', env: { ...process.env, CXX: '/nonexistent/c++' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'native: oneDNN convolutions not built: no C++ compiler (/nonexistent/c++) (apt-get install g++); the engine uses its wasm kernels.');
    assert.equal(fs.existsSync(path.join(dir, 'build', 'Release', 'onednn.node')), false);
  });

  it('without oneDNN headers: exit 0, one line naming the package, no addon; WS_ONEDNN=0 skips the build', () => {
    const dir = copy();
    const root = tmpDir('ws-nodnnl-');
    const r = spawnSync(process.execPath, [script, '--dir', dir], { encoding: 'utf8', env: { ...process.env, ONEDNN_ROOT: root } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `native: oneDNN convolutions not built: dnnl.hpp not found in ${path.join(root, 'include')} (Debian/Ubuntu: apt-get install libdnnl-dev); the engine uses its wasm kernels.`);
    assert.equal(fs.existsSync(path.join(dir, 'build', 'Release', 'onednn.node')), false);
    const off = spawnSync(process.execPath, [script, '--dir', dir], { encoding: 'utf8', env: { ...process.env, WS_ONEDNN: '0' } });
    assert.equal(off.status, 0, off.stderr);
    assert.equal(off.stdout.trim(), 'native: oneDNN convolutions not built: WS_ONEDNN=0; the engine uses its wasm kernels.');
  });

  it('with a compiler and oneDNN: builds an addon that loads', { skip }, () => {
    const dir = copy();
    const r = spawnSync(process.execPath, [script, '--dir', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /^native: oneDNN convolutions built in \d+ s \(oneDNN \d+\.\d+\.\d+, \w+\): /);
    assert.ok(fs.existsSync(path.join(dir, 'build', 'Release', 'onednn.node')));
  });
});

describe('training with oneDNN vs the direct wasm kernels', { skip }, () => {
  /**
   * 200 SGD steps (batch 32, learning rate 0.05, same seed and batches) with each engine, in its
   * own process (one tfjs engine per process). The first loss is the same function of the same
   * weights (equal to 1e-5), the second after one identical update (1e-4). Later steps differ by
   * rounding, which early training with batch norm amplifies chaotically: the direct wasm kernels
   * and XNNPACK, two exact convolutions in different summation orders, differ per step by as much
   * (up to ~18%, see src/bench/loss-curve.ts --conv-route). So the whole curve is compared by its
   * mean, within 2% (measured 0.6-1.1% between oneDNN and wasm, 0.25% between the two wasm
   * orders): a wrong gradient or a wrong layout moves it by far more.
   */
  it('200-step loss curve: first steps equal, mean loss within 2%', () => {
    const run = (backend: string) => {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'bench', 'loss-curve.js'), '--backend', backend, '--steps', '200', '--conv-route', 'simd', '--data', path.join(EMBEDDED, 'data_batch_1.bin')],
        { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { backend: string; losses: number[] };
    };
    const a = run('onednn');
    const b = run('wasm');
    assert.equal(a.backend, 'onednn');
    assert.equal(b.backend, 'wasm');
    assert.equal(a.losses.length, 200);
    assert.ok(Math.abs(a.losses[0] - b.losses[0]) <= 1e-5 * b.losses[0], `first loss ${a.losses[0]} vs ${b.losses[0]}`);
    assert.ok(Math.abs(a.losses[1] - b.losses[1]) <= 1e-4 * b.losses[1], `second loss ${a.losses[1]} vs ${b.losses[1]}`);
    const mean = (l: number[]) => l.reduce((s, v) => s + v, 0) / l.length;
    const rel = Math.abs(mean(a.losses) - mean(b.losses)) / mean(b.losses);
    assert.ok(rel < 0.02, `mean loss ${mean(a.losses)} vs ${mean(b.losses)}: ${rel}`);
    for (const c of [a, b]) assert.ok(mean(c.losses.slice(-50)) < c.losses[0] - 0.5, `${c.backend}: the loss goes down`);
  });
});
