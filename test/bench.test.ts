/**
 * The bench's PyTorch reference command (src/bench/reference.ts): the best configuration runs
 * with channels_last and without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, the NCHW one with the
 * environment unchanged, and this process's environment is never modified; medians with min-max.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { OPENBLAS_UNSET, pytorchReference, summarize } from '../src/bench/reference';
import { tmpDir } from './helpers';
import { studyCost, studyCostLines } from '../src/bench/study-cost';

test('PyTorch reference: OPENBLAS_* unset and channels_last for the best configuration only', () => {
  // a stand-in interpreter (a real process) that records its arguments and OPENBLAS_* variables
  const dir = tmpDir('ws-bench-');
  const fake = path.join(dir, 'python');
  const log = path.join(dir, 'seen.jsonl');
  fs.writeFileSync(fake, `#!${process.execPath}\n`
    + 'const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("OPENBLAS_")));\n'
    + `require("fs").appendFileSync(${JSON.stringify(log)}, JSON.stringify({ env, args: process.argv.slice(2) }) + "\\n");\n`
    + 'console.log(JSON.stringify({ imagesPerSecond: process.argv.includes("--channels-last") ? 300 : 100 }));\n');
  fs.chmodSync(fake, 0o755);
  const saved = { ...process.env };
  Object.assign(process.env, { OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '512', OPENBLAS_NUM_THREADS: '2' });
  try {
    const o = { python: fake, referenceSteps: 3, batch: 128 };
    assert.equal(pytorchReference(o, 'best', 2, '/data/file.bin').imagesPerSecond, 300);
    assert.equal(pytorchReference(o, 'nchw', 2, '/data/file.bin').imagesPerSecond, 100);
    assert.equal(process.env.OPENBLAS_CORETYPE, 'Haswell', 'this process keeps its environment');
    assert.equal(process.env.OPENBLAS_L2_SIZE, '512');
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  assert.deepEqual([...OPENBLAS_UNSET], ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE']);
  const [best, nchw] = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { env: Record<string, string>; args: string[] });
  assert.deepEqual(best.env, { OPENBLAS_NUM_THREADS: '2' });
  assert.ok(best.args.includes('--channels-last'));
  assert.deepEqual(best.args.slice(best.args.indexOf('--threads'), best.args.indexOf('--threads') + 2), ['--threads', '2']);
  assert.deepEqual(nchw.env, { OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '512', OPENBLAS_NUM_THREADS: '2' });
  assert.ok(!nchw.args.includes('--channels-last'));
});

test('a failing reference command is reported, not thrown', () => {
  const r = pytorchReference({ python: '/nonexistent/python', referenceSteps: 1, batch: 8 }, 'best', 1, '/d.bin');
  assert.equal(r.imagesPerSecond, null);
  assert.match(r.note ?? '', /PyTorch reference failed/);
});

test('summaries: median with min-max, non-finite values left out', () => {
  assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  assert.deepEqual(summarize([4, null, 1, NaN, 2, 3]), { median: 2.5, min: 1, max: 4, n: 4 });
  assert.deepEqual(summarize([]), { median: null, min: null, max: null, n: 0 });
});

test('study cost: race-to-85 at the original medians (20 x 30.5 + 20 x 21 epochs) and full-182 (30 x 182), priced per epoch on one core', () => {
  // 45,000 training images / 500 + 15,000 evaluated / 1,000 = 105 s per epoch
  const [race, full] = studyCost({ trainImagesPerSecond: 500, evalImagesPerSecond: 1000, backend: 'onednn' }, 750);
  assert.deepEqual([race.protocol, race.runs, race.epochs, full.protocol, full.runs, full.epochs], ['race-to-85', 40, 1030, 'full-182', 30, 5460]);
  assert.equal(race.secondsPerEpoch, 105);
  assert.ok(Math.abs(race.coreHours - (1030 * 105) / 3600) < 1e-9);
  assert.ok(Math.abs(full.wallHours - (5460 * 105) / 3600 / 1.5) < 1e-9, 'wall = core-hours / (machine / one core)');
  assert.equal(studyCost({ trainImagesPerSecond: 500, evalImagesPerSecond: 1000, backend: 'wasm' }, null)[1].wallHours, full.coreHours);
  assert.match(studyCostLines([race])[0], /^race-to-85: 40 runs, 1030 epochs .* 30\.0 core-hours, 20\.0 h wall/);
  assert.throws(() => studyCost({ trainImagesPerSecond: 0, evalImagesPerSecond: 1, backend: 'x' }, null), RangeError);
});

test('profile.js: the per-operator table of a training step and of the evaluation, whose kernels add up to at most the step', () => {
  const cli = path.join(__dirname, '..', 'src', 'bench', 'profile.js');
  const data = path.join(__dirname, '..', '..', 'data', 'cifar-10-subset', 'data_batch_1.bin');
  for (const [mode, args, kernel] of [['training', [], 'Conv2DBackpropFilter'], ['evaluation', ['--evaluate', '--batch', '50'], 'ResNetBatchNormInfer']] as const) {
    const r = spawnSync(process.execPath, [cli, '--backend', 'wasm', '--steps', '1', '--warmup', '1', '--data', data, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { mode: string; stepMs: number; kernels: { name: string; ms: number }[] };
    assert.equal(last.mode, mode);
    assert.ok(last.kernels.some((k) => k.name === kernel), `${mode}: ${kernel} among ${last.kernels.map((k) => k.name)}`);
    assert.ok(last.kernels.reduce((s, k) => s + k.ms, 0) <= last.stepMs + 1e-6);
    assert.match(r.stdout, new RegExp(`^profile: ResNet-20 ${mode}, batch`, 'm'));
  }
});
