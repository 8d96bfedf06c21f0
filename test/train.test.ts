import { PROTOCOLS } from '../src/runs/protocols';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadCifar10 } from '../src/data/cifar10';
import { takeFirst } from '../src/data/cifar10';
import { selectEngine } from '../src/engine/engine';
import { buildSchedule, validateRunConfig, configHash, type RunConfig } from '../src/train/config';
import { iterationsPerEpoch, trainRun, type RunData } from '../src/train/loop';
import { EMBEDDED } from './helpers';

let data: RunData;

before(async () => {
  const engine = await selectEngine({ backend: 'wasm' });
  assert.equal(engine.backend, 'wasm');
  assert.ok(engine.kernels.includes('Conv2DBackpropFilter'), 'the workspace registers Conv2DBackpropFilter for wasm');
  const ds = loadCifar10(EMBEDDED);
  data = { train: takeFirst(ds.train, 80), validation: takeFirst(ds.test, 40), test: takeFirst(ds.test, 40) };
});

const config = (over: Partial<RunConfig> = {}): RunConfig => ({
  protocol: 'test', arm: 'a', seed: 3, depth: 20, batchSize: 32, maxEpochs: 2, target: null, stopAtTarget: false,
  schedule: { kind: 'cosine', lrMax: 0.1, lrMin: 0, cycleLengthEpochs: 1, cycleMult: 1, warmup: 'fastai' },
  momentum: 0.9, weightDecay: 1e-4, bnMomentum: 0.1, bnEpsilon: 1e-5, augment: true,
  data: { dataset: 'cifar-10-subset', validationCount: 500, splitSeed: 0, trainFraction: 1, testCount: null },
  ...over,
});

test('iterations per epoch: 45,000 images at batch 128 give 352 (64k iterations ~ 182 epochs)', () => {
  assert.equal(iterationsPerEpoch(45000, 128), 352);
  // the full-182 protocol's epochs cover the ResNet paper's 64k iterations, and its step arm is at lr 0.001 after 48k
  const full = PROTOCOLS['full-182'];
  const iterations = full.maxEpochs * iterationsPerEpoch(45000, 128);
  assert.ok(iterations >= 64000 && iterations - 64000 < 352, `full-182: ${iterations} iterations`);
  const step = buildSchedule(full.arms.find((a) => a.name === 'step')!.schedule, 352);
  assert.equal(step(31999), 0.1);
  assert.ok(Math.abs(step(48000) - 0.001) < 1e-12 && Math.abs(step(iterations - 1) - 0.001) < 1e-12);
  const sched = buildSchedule({ kind: 'cosine', lrMax: 0.1, lrMin: 0, cycleLengthEpochs: 7, cycleMult: 1, warmup: null }, 352);
  assert.equal(sched(7 * 352), 0.1); // restart after 7 epochs
});

test('epoch records, iterations, learning rate; same seed -> same run; tensors flat', async () => {
  const seen: number[] = [];
  const a = await trainRun('r', config(), data, { onEpoch: () => { seen.push(tf.memory().numTensors); } });
  assert.equal(a.status, 'completed');
  assert.equal(a.epochs.length, 2);
  assert.deepEqual(a.epochs.map((e) => e.iteration), [3, 6]); // ceil(80/32) = 3 per epoch
  // last iteration of epoch 1 is iteration 2 of a 3-iteration cycle (warm-up covers iteration 0 only)
  assert.ok(Math.abs(a.epochs[0].learningRate - 0.1 * (1 + Math.cos(Math.PI * 2 / 3)) / 2) < 1e-12);
  for (const e of a.epochs) {
    assert.ok(e.trainSeconds > 0 && e.totalSeconds >= e.trainSeconds);
    assert.ok(e.trainCpuSeconds !== null && e.trainCpuSeconds > 0 && e.totalCpuSeconds !== null && e.totalCpuSeconds >= e.trainCpuSeconds, `CPU seconds ${e.trainCpuSeconds} / ${e.totalCpuSeconds}`);
    for (const k of ['trainAccuracy', 'validationAccuracy', 'testAccuracy'] as const) assert.ok(e[k] >= 0 && e[k] <= 1);
  }
  assert.equal(seen[0], seen[1], 'no tensor leak between epochs');
  const b = await trainRun('r', config(), data);
  assert.deepEqual(b.epochs.map((e) => e.trainLoss), a.epochs.map((e) => e.trainLoss), 'same seed, same backend: same losses');
  assert.deepEqual(b.epochs.map((e) => e.validationAccuracy), a.epochs.map((e) => e.validationAccuracy));
  const c = await trainRun('r', config({ seed: 4 }), data, { });
  assert.notDeepEqual(c.epochs.map((e) => e.trainLoss), a.epochs.map((e) => e.trainLoss));
});

test('stop at target records epoch, iteration and seconds; unreachable target is censored', async () => {
  const reached = await trainRun('r', config({ target: 0.01, stopAtTarget: true, maxEpochs: 3 }), data);
  assert.equal(reached.status, 'completed');
  assert.equal(reached.epochsToTarget, 1);
  assert.equal(reached.iterationsToTarget, 3);
  assert.equal(reached.secondsToTarget, reached.epochs[0].trainSeconds);
  assert.equal(reached.epochs.length, 1);
  const censored = await trainRun('r', config({ target: 1, stopAtTarget: true, maxEpochs: 1 }), data);
  assert.equal(censored.status, 'censored');
  assert.equal(censored.epochsToTarget, null);
  assert.equal(censored.epochsCompleted, 1);
});

test('a diverging learning rate stops the run as diverged, naming the epoch', async () => {
  const r = await trainRun('r', config({ schedule: { kind: 'constant', lr: 1e8 }, maxEpochs: 3 }), data);
  assert.equal(r.status, 'diverged');
  assert.match(r.error ?? '', /(training|validation) loss became (NaN|Infinity|-Infinity) at epoch \d/);
});

test('config validation names the field; config hash ignores only the seed', () => {
  assert.throws(() => validateRunConfig(config({ batchSize: 0 })), /batchSize must be an integer > 0, got 0/);
  assert.throws(() => validateRunConfig(config({ maxEpochs: -1 })), /maxEpochs must be an integer > 0, got -1/);
  assert.throws(() => validateRunConfig(config({ target: 1.5 })), /target must be in \(0, 1\], got 1.5/);
  assert.throws(() => validateRunConfig(config({ schedule: { kind: 'constant', lr: -0.1 } })), /schedule.lr must be a number > 0, got -0.1/);
  assert.throws(() => validateRunConfig(config({ schedule: { kind: 'linear' } as never })), /unknown schedule kind "linear"/);
  assert.match(validateRunConfig(config({ schedule: { kind: 'cosine', lrMax: 0.1, lrMin: 0, cycleLengthEpochs: 14, cycleMult: 1, warmup: null }, maxEpochs: 7 }))[0],
    /cycle length 14 epochs is longer than the run \(7 epochs\)/);
  assert.equal(configHash(config({ seed: 1 })), configHash(config({ seed: 2 })));
  assert.notEqual(configHash(config({ maxEpochs: 3 })), configHash(config({ maxEpochs: 4 })));
});
