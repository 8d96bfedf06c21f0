/**
 * Hours to target from CPU seconds (store schema 3): the analysis model's Kaplan–Meier medians of
 * training CPU seconds, checked against the product-limit estimate worked out by hand, and its
 * log-rank test against the epochs' one on the same ordering (a rank test sees the same data).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { analyzeProtocol } from '../src/analysis';
import type { EpochRecord, RunRecord } from '../src/store/types';

/** A race run: `cpu` CPU seconds per epoch, reaching the target at `hit` (null: censored at `epochs`). */
function run(arm: string, seed: number, epochs: number, hit: number | null, cpuPerEpoch: number | null): { run: RunRecord; epochs: EpochRecord[] } {
  const runId = `race-to-85/${arm}/seed-${seed}/cpu`;
  const rows: EpochRecord[] = Array.from({ length: epochs }, (_, i) => ({
    runId, epoch: i + 1, iteration: 352 * (i + 1), learningRate: 0.1, trainLoss: 1, trainAccuracy: 0.5, validationLoss: 1,
    validationAccuracy: hit === i + 1 ? 0.86 : 0.5, testLoss: 1, testAccuracy: 0.9, trainSeconds: 1000 * (i + 1), totalSeconds: 1100 * (i + 1),
    trainCpuSeconds: cpuPerEpoch === null ? null : cpuPerEpoch * (i + 1), totalCpuSeconds: cpuPerEpoch === null ? null : cpuPerEpoch * (i + 1) + 5,
  }));
  return {
    run: {
      runId, protocol: 'race-to-85', arm, seed, status: hit === null ? 'censored' : 'completed', target: 0.85, epochsToTarget: hit,
      iterationsToTarget: hit === null ? null : 352 * hit, secondsToTarget: hit === null ? null : 1000 * hit, epochsCompleted: epochs,
      finalTestAccuracy: 0.9, bestValidationAccuracy: 0.86, testAccuracyAtBestValidation: 0.9, error: null, startedAt: '', finishedAt: '',
      backend: 'onednn', config: { protocol: 'race-to-85', arm, seed, maxEpochs: 8, target: 0.85, stopAtTarget: true, batchSize: 128,
        data: { dataset: 'cifar-10', validationCount: 5000, splitSeed: 0, trainFraction: 1, testCount: null } },
    } as unknown as RunRecord,
    epochs: rows,
  };
}

test('Kaplan–Meier median CPU seconds to target per arm; the log-rank test on CPU seconds', () => {
  // cosine reaches the target at 100, 200, 300 CPU s (epochs 2, 4, 6); step at 150, 250 and is censored at 400 (epochs 3, 5, 8)
  const rs = [run('cosine', 0, 2, 2, 50), run('cosine', 1, 4, 4, 50), run('cosine', 2, 6, 6, 50),
    run('step', 0, 3, 3, 50), run('step', 1, 5, 5, 50), run('step', 2, 8, null, 50)];
  const p = analyzeProtocol('race-to-85', rs.map((r) => r.run), rs.flatMap((r) => r.epochs));
  const cos = p.arms.find((a) => a.arm === 'cosine')!;
  const step = p.arms.find((a) => a.arm === 'step')!;
  // product limit: cosine S = 2/3, 1/3, 0 at 100, 200, 300 -> median 200; step S = 2/3 at 150, 1/3 at 250 -> median 250
  assert.equal(cos.kmCpuSeconds!.median, 200);
  assert.equal(step.kmCpuSeconds!.median, 250);
  assert.equal(step.kmCpuSeconds!.censored, 1);
  const byMetric = Object.fromEntries(p.logRank.map((t) => [t.metric, t]));
  assert.ok(byMetric['cpu-seconds'].result && byMetric.epochs.result);
  assert.equal(byMetric['cpu-seconds'].result.chiSquare, byMetric.epochs.result.chiSquare);
});

test('runs without CPU seconds (epochs before schema 3): no CPU-seconds median or log-rank, with the reason', () => {
  const rs = [run('cosine', 0, 2, 2, 50), run('cosine', 1, 4, 4, null), run('step', 0, 3, 3, 50), run('step', 1, 5, 5, 50)];
  const p = analyzeProtocol('race-to-85', rs.map((r) => r.run), rs.flatMap((r) => r.epochs));
  assert.equal(p.arms.find((a) => a.arm === 'cosine')!.kmCpuSeconds, null);
  // step reaches at 150 and 250 CPU s: S is exactly 1/2 from 150 to 250, and R's survfit then takes the midpoint, 200
  assert.equal(p.arms.find((a) => a.arm === 'step')!.kmCpuSeconds!.median, 200);
  const t = p.logRank.find((x) => x.metric === 'cpu-seconds')!;
  assert.equal(t.result, null);
  assert.match(t.note!, /1 run has no CPU seconds/);
});
