/**
 * ws.measureThroughput (real wasm engine, real CIFAR-10 images) and the duration estimate the
 * training notebooks print before they train (issue 12).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { estimateTrainingSeconds, formatDuration, measureThroughput, type Throughput } from '../src/train/throughput';

const speed = (train: number, evalSpeed: number, setupSeconds = 0): Throughput => ({ backend: 'wasm', trainImagesPerSecond: train, evalImagesPerSecond: evalSpeed, setupSeconds, steps: 1, batchSize: 128 });

describe('estimateTrainingSeconds', () => {
  it('setup + epochs x (train / train speed + eval / eval speed) per run; low: whole runs spread over the workers, high: one after the other', () => {
    // per run: 2 epochs x (100/50 + 50/25) s = 8 s; 5 runs on 2 workers: 3 rounds = 24 s; one after the other 40 s
    assert.deepEqual(estimateTrainingSeconds({ runs: 5, epochs: 2, trainImages: 100, evalImages: 50, workers: 2 }, speed(50, 25)), { low: 24, high: 40 });
    // with 1 s of setup per run: 9 s per run
    assert.deepEqual(estimateTrainingSeconds({ runs: 5, epochs: 2, trainImages: 100, evalImages: 50, workers: 2 }, speed(50, 25, 1)), { low: 27, high: 45 });
    // workers 0 (in the kernel) or 1: one after the other; more workers than runs: one round
    assert.deepEqual(estimateTrainingSeconds({ runs: 3, epochs: 1, trainImages: 10, evalImages: 0, workers: 0 }, speed(10, 1)), { low: 3, high: 3 });
    assert.deepEqual(estimateTrainingSeconds({ runs: 2, epochs: 1, trainImages: 10, evalImages: 0, workers: 8 }, speed(10, 1)), { low: 1, high: 2 });
    assert.deepEqual(estimateTrainingSeconds({ runs: 0, epochs: 90, trainImages: 45000, evalImages: 15000, workers: 2 }, speed(100, 300)), { low: 0, high: 0 });
  });

  it('formats seconds, minutes, hours and days', () => {
    assert.equal(formatDuration(42), '42 s');
    assert.equal(formatDuration(750), '12.5 min');
    assert.equal(formatDuration(3 * 3600), '3.0 h');
    assert.equal(formatDuration(12.2 * 86400), '12.2 days');
  });
});

describe('measureThroughput', () => {
  it('trains and evaluates ResNet-20 on the wasm engine and reports positive speeds', async () => {
    const t = await measureThroughput({ backend: 'wasm', steps: 1, warmup: 1, batchSize: 16, evalImages: 32 });
    assert.equal(t.backend, 'wasm');
    assert.equal(t.steps, 1);
    assert.equal(t.batchSize, 16);
    assert.ok(Number.isFinite(t.trainImagesPerSecond) && t.trainImagesPerSecond > 0);
    assert.ok(Number.isFinite(t.evalImagesPerSecond) && t.evalImagesPerSecond > 0);
    assert.ok(t.setupSeconds > 0);
    await assert.rejects(measureThroughput({ backend: 'wasm', steps: 0 }), /steps must be an integer >= 1, got 0/);
  });
});
