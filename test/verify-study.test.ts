/**
 * verify-study (src/runs/verify.ts): a store of hand-written study runs whose every number comes from
 * the closed forms below (SGDR: 0.05 (1 + cos(pi t / 352)) at the epoch's last iteration t = 351;
 * He et al.'s step: 0.1, 0.01 from iteration 32,000, 0.001 from 48,000), then the same store with
 * one value changed at a time: each change is named by run and field. And the shipped study
 * (studies/resnet20-cifar10.sqlite) passes, read without a change.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openResultsStore, type RunStart } from '../src/store';
import { expandProtocol, getProtocol } from '../src/runs/protocols';
import { configHash, runId, type RunConfig } from '../src/train/config';
import { verifyStudyStore } from '../src/runs/verify';
import { STUDY_RESULTS_PATH } from '../src/store/location';
import type { EpochRecord, RunSummary } from '../src/train/records';
import { writeHandRun } from './fixtures/hand-runs';

const ROOT = path.join(__dirname, '..', '..');
const configOf = (protocol: string, arm: string, seed: number): RunConfig =>
  expandProtocol(getProtocol(protocol), 'cifar-10', 50000, { arms: [arm] }).runs[seed];
const start = (c: RunConfig): RunStart => ({
  runId: runId(c), protocol: c.protocol, arm: c.arm, seed: c.seed, config: c as unknown as Record<string, unknown>,
  configHash: configHash(c), backend: 'onednn', versions: {}, codeVersion: 'abc123', target: c.target,
});

function rows(c: RunConfig, validation: number[], lrAt: (epoch: number) => number): Array<[EpochRecord, Partial<RunSummary>]> {
  let best = -1;
  let bestTest = 0;
  let hit: number | null = null;
  return validation.map((v, i) => {
    const epoch = i + 1;
    const test = 0.5 + epoch / 1000;
    if (v > best) { best = v; bestTest = test; }
    if (hit === null && c.target !== null && v >= c.target) hit = epoch;
    const r: EpochRecord = {
      runId: runId(c), epoch, iteration: 352 * epoch, learningRate: lrAt(epoch), trainLoss: 1, trainAccuracy: 0.5,
      validationLoss: 1, validationAccuracy: v, testLoss: 1, testAccuracy: test, trainSeconds: 100 * epoch, totalSeconds: 110 * epoch,
      trainCpuSeconds: 99 * epoch, totalCpuSeconds: 108 * epoch,
    };
    return [r, {
      epochsCompleted: epoch, finalTestAccuracy: test, bestValidationAccuracy: best, testAccuracyAtBestValidation: bestTest,
      epochsToTarget: hit, iterationsToTarget: hit === null ? null : 352 * hit, secondsToTarget: hit === null ? null : 100 * hit,
    }];
  });
}
const sgdrEnd = 0.05 * (1 + Math.cos(Math.PI * 351 / 352));
const paperStep = (epoch: number) => (352 * epoch - 1 >= 48000 ? 0.1 * 0.1 * 0.1 : 352 * epoch - 1 >= 32000 ? 0.1 * 0.1 : 0.1);

async function studyStore(): Promise<string> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ws-verify-')), 'study.sqlite');
  const s = await openResultsStore(file);
  const cos0 = configOf('race-to-85', 'cosine', 0);
  const cos1 = configOf('race-to-85', 'cosine', 1);
  const step0 = configOf('full-182', 'step', 0);
  await writeHandRun(s, start(cos0), rows(cos0, [0.5, 0.7, 0.86], () => sgdrEnd), 'completed');
  await writeHandRun(s, start(cos1), rows(cos1, [0.5, 0.86], () => sgdrEnd), 'completed');
  await writeHandRun(s, start(step0), rows(step0, Array.from({ length: 182 }, (_, i) => Math.min(0.92, 0.4 + i / 200)), paperStep), 'completed');
  await s.close();
  return file;
}

test('a store of correct study runs verifies; each changed value is named by run and field', async () => {
  const file = await studyStore();
  const good = await verifyStudyStore(file);
  assert.deepEqual(good.problems, []);
  assert.deepEqual(good.runs, [{ protocol: 'full-182', arm: 'step', finished: 1 }, { protocol: 'race-to-85', arm: 'cosine', finished: 2 }]);
  assert.equal(good.epochsChecked, 3 + 2 + 182);

  const cos0 = runId(configOf('race-to-85', 'cosine', 0));
  const step0 = runId(configOf('full-182', 'step', 0));
  const cases: Array<[string, unknown[], RegExp]> = [
    ['UPDATE runs SET epochs_to_target = 2 WHERE run_id = ?', [cos0], /epochs_to_target is 2, expected 3/],
    ['UPDATE runs SET final_test_accuracy = 0.9 WHERE run_id = ?', [cos0], /final_test_accuracy is 0\.9, expected 0\.503/],
    ['UPDATE epochs SET learning_rate = 0.1 WHERE run_id = ? AND epoch = 120', [step0], /epoch 120 learning rate is 0\.1, expected 0\.01/],
    ['UPDATE epochs SET iteration = 700 WHERE run_id = ? AND epoch = 2', [cos0], /epoch 2 iteration is 700, expected 704/],
    ['UPDATE runs SET status = \'censored\' WHERE run_id = ?', [cos0], /status \/ epochs is censored after 3, expected completed after 3/],
    ['DELETE FROM epochs WHERE run_id = ? AND epoch = 182', [step0], /epochs_completed is 182, expected 181/],
    [`UPDATE runs SET config_json = json_set(config_json, '$.data.trainFraction', 0.5) WHERE run_id = ?`, [cos0], /training images is 22500, expected 45000/],
    [`UPDATE runs SET seed = 1, config_json = json_set(config_json, '$.seed', 1) WHERE run_id = ?`, [cos0], /seed 1 of race-to-85 cosine is also run race-to-85\/cosine\/seed-[01]\//],
  ];
  for (const [sql, params, expected] of cases) {
    const copy = path.join(path.dirname(file), `case.sqlite`);
    fs.copyFileSync(file, copy);
    const db = new Database(copy);
    db.prepare(sql).run(...params);
    db.close();
    const r = await verifyStudyStore(copy);
    assert.ok(r.problems.some((p) => expected.test(p)), `${sql}: ${JSON.stringify(r.problems)}`);
    fs.rmSync(copy);
  }
});

test('npm run verify-study: exit 0 and the verdict on good runs, exit 1 naming the problem otherwise', async () => {
  const file = await studyStore();
  const cli = path.join(ROOT, 'dist', 'cli.js');
  const ok = spawnSync(process.execPath, [cli, 'verify-study', '--results', file], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /3 finished runs of race-to-85 \/ full-182, 187 epoch rows of them/);
  assert.match(ok.stdout, /every summary agrees with its epoch rows/);
  const db = new Database(file);
  db.prepare('UPDATE runs SET best_validation_accuracy = 0.99 WHERE arm = ?').run('step');
  db.close();
  const bad = spawnSync(process.execPath, [cli, 'verify-study', '--results', file], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /problem: full-182\/step\/seed-0\/\w+: best_validation_accuracy is 0\.99, expected 0\.92/);
});

test('the shipped study (studies/resnet20-cifar10.sqlite) verifies, read without a change', () => {
  assert.ok(fs.existsSync(STUDY_RESULTS_PATH), `${STUDY_RESULTS_PATH} is missing`);
  const md5 = () => crypto.createHash('md5').update(fs.readFileSync(STUDY_RESULTS_PATH)).digest('hex');
  const before = md5();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'verify-study'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /every summary agrees with its epoch rows/);
  assert.equal(md5(), before);
  const db = new Database(STUDY_RESULTS_PATH, { readonly: true });
  assert.equal(db.prepare('SELECT COUNT(*) FROM checkpoints').pluck().get(), 0, 'shipped without checkpoints');
  db.close();
});
