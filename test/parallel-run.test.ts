/**
 * One run on several cores, end to end (src/train/loop.ts with the data-parallel trainer, the
 * runner's --threads, real CLI processes on temporary SQLite stores):
 * - threads 2: the same records as doubles in two invocations (in this process and in a worker
 *   process), the thread count recorded in the stored configuration and the checkpoint;
 * - threads 2 stopped by SIGTERM, then killed with -9, then resumed: the same epochs and the same
 *   final checkpoint (SHA-256) as the uninterrupted run;
 * - threads 1 and auto on one core: the single-threaded path, identical records, no threads field
 *   (the run ids and configuration hashes of existing stores are unchanged);
 * - threads 2 and a diverging run: recorded, and the process exits (no thread left running);
 * - bad --threads values: one error line, exit 2, nothing written; the auto rule.
 * The training set has 513 images (16 batches of 32 and one of 1), so every epoch ends with a
 * batch smaller than the thread count (one replica idle).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { CLI, makeMiniDataset, runCli, startCli, tinyProtocolFile } from './fixtures/reliability/support';
import { ROOT, tmpDir } from './helpers';
import { resolveThreads } from '../src/runs/settings';
import { ConfigError, configHash, LIMITS, runId, validateRunConfig, withThreads, type RunConfig } from '../src/train/config';
import { checkpointThreads } from '../src/train/checkpoint';
import { loadOneDnn } from '../src/engine/onednn';
import { requireComponent } from './fixtures/components';

const VALUES = 'run_id, epoch, iteration, learning_rate, train_loss, train_accuracy, validation_loss, validation_accuracy, test_loss, test_accuracy';
const read = (file: string) => {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return {
      epochs: db.prepare(`SELECT ${VALUES} FROM epochs ORDER BY run_id, epoch`).all() as Record<string, number | string>[],
      checkpoints: db.prepare('SELECT run_id, epoch, sha256, state FROM checkpoints ORDER BY run_id').all() as { run_id: string; epoch: number; sha256: string; state: Buffer }[],
      runs: db.prepare('SELECT run_id, status, attempts, config_json, config_hash FROM runs ORDER BY run_id').all() as { run_id: string; status: string; attempts: number; config_json: string; config_hash: string }[],
    };
  } finally {
    db.close();
  }
};

const dir = tmpDir('ws-parallel-run-');
const data = makeMiniDataset({ train: 1000, test: 100 });
// 900 images after the validation tenth; 0.57 of them = 513 = 16 x 32 + 1
const file = tinyProtocolFile(dir, { name: 'par', maxEpochs: 2, trainFraction: 0.57 }, 'par.json');
const args = (results: string, extra: string[]) => ['experiment', '--protocol-file', file, '--data', data, '--results', results, '--batch-size', '32', ...extra];
const ok = (r: { status: number | null; stdout: string; stderr: string }) => assert.equal(r.status, 0, r.stdout + r.stderr);

let twoThreads: ReturnType<typeof read> | null = null;

test('--threads 2: the run trains on 2 threads, records them, and a second invocation gives the same records as doubles', () => {
  const first = path.join(dir, 'two-a.sqlite');
  const r1 = runCli(args(first, ['--workers', '0', '--threads', '2']));
  ok(r1);
  assert.match(r1.stdout, /training in this process \(backend auto -> (onednn [\d.]+ \(\w+\)|wasm \(winograd F\(4x4,3x3\)\)), 2 threads per run\)/);
  assert.match(r1.stdout, /\[par cosine seed 0\] training with 2 threads/);
  const second = path.join(dir, 'two-b.sqlite');
  const r2 = runCli(args(second, ['--workers', '1', '--threads', '2'])); // in a worker process this time
  ok(r2);
  assert.match(r2.stdout, /training in 1 worker process \(backend auto -> (onednn [\d.]+ \(\w+\)|wasm \(winograd F\(4x4,3x3\)\)), 2 threads per run\)/);
  const a = read(first);
  const b = read(second);
  assert.equal(a.epochs.length, 2);
  assert.deepEqual(b.epochs, a.epochs, 'epoch records equal as doubles');
  assert.equal(b.checkpoints[0].sha256, a.checkpoints[0].sha256, 'final checkpoints equal');
  assert.equal(a.runs[0].status, 'completed');
  assert.equal(JSON.parse(a.runs[0].config_json).threads, 2, 'the stored configuration records the thread count');
  assert.equal(checkpointThreads(a.checkpoints[0].state), 2, 'so does the checkpoint');
  twoThreads = a;
});

test('--threads 2 stopped by SIGTERM in epoch 1, killed -9 in epoch 2, resumed: the same epochs and final checkpoint as the uninterrupted run', async () => {
  assert.ok(twoThreads, 'needs the uninterrupted run of the previous test');
  const results = path.join(dir, 'two-killed.sqlite');
  const term = startCli(args(results, ['--workers', '0', '--threads', '2']));
  await term.waitFor(/\] epoch 1: \d+\/\d+ iterations/);
  term.child.kill('SIGTERM');
  const t = await term.exited;
  assert.equal(t.code, 143, `exits promptly with 143, its trainer's threads closed: ${term.lines.join('\n')}\n${term.stderr()}`);
  // auto would start it with 2 threads here only on a 2-core machine: the resumed part must not depend on it
  const kill = startCli(args(results, ['--workers', '0', '--threads', '2']));
  await kill.waitFor(/\] epoch 2: \d+\/\d+ iterations/);
  kill.child.kill('SIGKILL');
  await kill.exited;
  const mid = read(results);
  assert.deepEqual(mid.checkpoints.map((c) => c.epoch), [1]);
  const again = runCli(args(results, ['--workers', '0', '--threads', '1']));
  ok(again);
  assert.match(again.stdout, /resuming from the checkpoint of epoch 1 with 2 threads \(its checkpoint's; this invocation would start it with 1\)/);
  const end = read(results);
  assert.deepEqual(end.epochs, twoThreads.epochs, 'epoch records equal as doubles');
  assert.equal(end.checkpoints[0].sha256, twoThreads.checkpoints[0].sha256, 'final weights, batch-norm statistics, momentum and random streams equal');
  assert.equal(end.runs[0].attempts, 3);
});

test('--threads 1 and auto on one core: the single-threaded path, identical records, no thread count stored; 2 threads agree up to rounding', () => {
  const one = path.join(dir, 'one.sqlite');
  const r1 = runCli(args(one, ['--workers', '0', '--threads', '1']));
  ok(r1);
  assert.doesNotMatch(r1.stdout, /threads/);
  // no --threads on a machine of one core (taskset): pending runs >= cores, auto gives 1 thread
  const auto = path.join(dir, 'auto.sqlite');
  const r2 = spawnSync('taskset', ['-c', '0', process.execPath, CLI, ...args(auto, ['--workers', '0'])], { cwd: ROOT, encoding: 'utf8', timeout: 150000 });
  assert.equal(r2.error, undefined, `taskset (Debian util-linux, an essential package: apt-get install util-linux) must run: ${String(r2.error)}`);
  ok(r2);
  assert.doesNotMatch(r2.stdout, /threads/, 'auto on one core: one thread');
  const a = read(one);
  const b = read(auto);
  assert.deepEqual(b.epochs, a.epochs, 'epoch records equal as doubles');
  assert.equal(b.checkpoints[0].sha256, a.checkpoints[0].sha256);
  for (const s of [a, b]) {
    assert.equal(s.runs[0].config_json.includes('threads'), false, 'a single-threaded run stores no threads field');
    assert.equal(checkpointThreads(s.checkpoints[0].state), 1);
    assert.equal(s.checkpoints[0].state.subarray(0, 400).toString('latin1').includes('threads'), false, 'nor does its checkpoint header');
  }
  assert.ok(twoThreads);
  assert.equal(twoThreads.runs[0].run_id, a.runs[0].run_id, 'the thread count is not part of the run id');
  assert.equal(twoThreads.runs[0].config_hash, a.runs[0].config_hash);
  // the first epoch's training loss (before rounding differences are amplified by training) agrees closely
  const l1 = Number(a.epochs[0].train_loss);
  const l2 = Number(twoThreads.epochs[0].train_loss);
  assert.ok(Math.abs(l2 - l1) <= 1e-2 * l1, `epoch 1 training loss, 2 threads ${l2} vs 1 thread ${l1}`);
});

test('--threads 2, a diverging run (lr 1e9): recorded as diverged, and the process exits (its trainer threads closed)', () => {
  const diverging = tinyProtocolFile(dir, { name: 'div', arms: [{ name: 'huge', schedule: { kind: 'constant', lr: 1e9 } }], maxEpochs: 1, trainFraction: 0.57 }, 'div.json');
  const results = path.join(dir, 'div.sqlite');
  const r = runCli(['experiment', '--protocol-file', diverging, '--data', data, '--results', results, '--batch-size', '32', '--workers', '0', '--threads', '2'], { timeoutMs: 90000 });
  ok(r);
  assert.match(r.stdout, /\[div huge seed 0\] diverged: training loss became NaN at epoch 1/);
  assert.equal(read(results).runs[0].status, 'diverged');
});

test('--threads 0, --threads x, --threads 257: one error line, exit 2, nothing written', () => {
  for (const [value, message] of [
    ['0', '--threads must be "auto" or an integer >= 1, got "0"'],
    ['x', '--threads must be "auto" or an integer >= 1, got "x"'],
    ['1.5', '--threads must be "auto" or an integer >= 1, got "1.5"'],
    [String(LIMITS.threads + 1), `--threads must be at most ${LIMITS.threads} (a real study never needs more), got "${LIMITS.threads + 1}"`],
  ]) {
    const results = path.join(dir, `bad-${value}.sqlite`);
    const r = runCli(args(results, ['--threads', value]));
    assert.equal(r.status, 2, `--threads ${value}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.split('\n')[0], `error: ${message}`);
    assert.equal(r.stdout, '');
    assert.equal(fs.existsSync(results), false, 'no store created');
  }
});

test('auto rule: floor(cores / runs trained at once), at least 1; numbers as given, checked', () => {
  assert.equal(resolveThreads('auto', { cores: 2, slots: 1 }), 2, 'one run on 2 cores');
  assert.equal(resolveThreads('auto', { cores: 16, slots: 1 }), 16, 'a notebook: one run, every core');
  assert.equal(resolveThreads('auto', { cores: 16, slots: 3 }), 5, 'the last 3 runs of a protocol on 16 cores');
  assert.equal(resolveThreads('auto', { cores: 16, slots: 16 }), 1, 'pending runs >= cores: one thread per run');
  assert.equal(resolveThreads('auto', { cores: 2, slots: 4 }), 1, 'more slots than cores (--workers 4)');
  assert.equal(resolveThreads('auto', { cores: 1, slots: 1 }), 1);
  assert.equal(resolveThreads('auto', { cores: 1024, slots: 1 }), LIMITS.threads);
  assert.equal(resolveThreads(3, { cores: 2, slots: 2 }), 3, 'a number is used as given');
  assert.throws(() => resolveThreads(0, { cores: 2, slots: 1 }), /threads must be an integer in 1\.\.256 or "auto", got 0/);
  assert.throws(() => resolveThreads(1.5, { cores: 2, slots: 1 }), ConfigError);
});

test('existing stores keep matching their runs: the committed example store (schema 1) hashes to its run ids with any thread count', () => {
  const db = new Database(path.join(ROOT, 'data', 'example-results.sqlite'), { readonly: true, fileMustExist: true });
  const runs = db.prepare('SELECT run_id, config_hash, config_json FROM runs').all() as { run_id: string; config_hash: string; config_json: string }[];
  db.close();
  assert.equal(runs.length, 10);
  for (const r of runs) {
    const c = JSON.parse(r.config_json) as RunConfig;
    assert.equal(c.threads, undefined);
    for (const t of [1, 2, 16]) {
      const withT = withThreads(c, t);
      validateRunConfig(withT); // valid (warnings aside)
      assert.equal(configHash(withT), r.config_hash, `${r.run_id}, threads ${t}`);
      assert.equal(runId(withT), r.run_id);
    }
    assert.equal(JSON.stringify(withThreads(c, 1)), r.config_json, 'threads 1 leaves the stored configuration as it was');
    assert.equal(runId({ ...c, threads: 1 }), r.run_id, 'an explicit threads: 1 too');
  }
  const c = JSON.parse(runs[0].config_json) as RunConfig;
  assert.throws(() => validateRunConfig({ ...c, threads: 0 }), /threads must be an integer > 0, got 0/);
  assert.throws(() => validateRunConfig({ ...c, threads: LIMITS.threads + 1 }), /threads must be at most 256, got 257/);
});

test('--threads auto means the same with --backend onednn or wasm named as with auto (only the tfjs-node backends get 1)', { skip: requireComponent('onednn', loadOneDnn() ?? false, __filename) }, () => {
  const cores = os.cpus().length;
  const per = `${cores} thread${cores === 1 ? '' : 's'} per run`;
  for (const backend of ['onednn', 'wasm']) {
    const r = runCli(['experiment', '--protocol-file', file, '--data', data, '--results', path.join(dir, `auto-${backend}.sqlite`), '--batch-size', '32',
      '--workers', '0', '--backend', backend, '--max-epochs', '1', '--arms', 'cosine']);
    ok(r);
    if (cores > 1) assert.ok(r.stdout.includes(`(backend ${backend === 'onednn' ? 'onednn ' : 'wasm ('}`) && r.stdout.includes(per), r.stdout);
  }
});
