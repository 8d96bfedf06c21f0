/**
 * Exact resume from checkpoints, with real processes on SQLite:
 * - a run of 3 short epochs, uninterrupted, against the same run killed (kill -9) during epoch 2 and
 *   resumed: epoch records equal as doubles, final checkpoint (weights, momentum, random streams) equal;
 * - SIGTERM and SIGINT to the main process only: its workers stop within an iteration, release their
 *   runs (one line saying so), the process exits 143/130, and an immediate re-run resumes them;
 * - a worker whose parent is killed -9 stops within about a second and leaves its run resumable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { alive, childPids, makeMiniDataset, runCli, sleep, startCli, tinyProtocolFile } from './fixtures/reliability/support';
import { tmpDir } from './helpers';

const VALUES = 'run_id, epoch, iteration, learning_rate, train_loss, train_accuracy, validation_loss, validation_accuracy, test_loss, test_accuracy';
const read = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return {
      epochs: db.prepare(`SELECT ${VALUES} FROM epochs ORDER BY run_id, epoch`).all(),
      checkpoints: db.prepare('SELECT run_id, epoch, sha256 FROM checkpoints ORDER BY run_id').all() as { run_id: string; epoch: number; sha256: string }[],
      runs: db.prepare('SELECT run_id, status, attempts, epochs_completed, lease_owner FROM runs ORDER BY run_id').all() as { run_id: string; status: string; attempts: number; epochs_completed: number; lease_owner: string | null }[],
    };
  } finally {
    db.close();
  }
};

const dir = tmpDir('ws-resume-');
const data = makeMiniDataset({ train: 1000, test: 100 });
const args = (file: string, results: string, extra: string[] = []) =>
  ['experiment', '--protocol-file', file, '--data', data, '--results', results, '--batch-size', '32', ...extra];

test('killed with -9 during epoch 2 and resumed: the same epochs, bit for bit, and the same final state', async () => {
  const file = tinyProtocolFile(dir, { name: 'exact', maxEpochs: 3, trainFraction: 0.6 }, 'exact.json');
  const straight = path.join(dir, 'straight.sqlite');
  const r = runCli(args(file, straight, ['--workers', '0']));
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const killed = path.join(dir, 'killed.sqlite');
  const cli = startCli(args(file, killed, ['--workers', '0']));
  await cli.waitFor(/\] epoch 2: \d+\/\d+ iterations/); // inside epoch 2
  cli.child.kill('SIGKILL');
  await cli.exited;
  const mid = read(killed);
  assert.deepEqual(mid.checkpoints.map((c) => c.epoch), [1], 'the checkpoint of epoch 1');
  assert.equal(mid.runs[0].status, 'running');
  const again = runCli(args(file, killed, ['--workers', '0']));
  assert.equal(again.status, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /resuming from the checkpoint of epoch 1/);
  assert.doesNotMatch(again.stdout, /\] epoch 1\/3 /, 'epoch 1 is not trained again');
  const a = read(straight);
  const b = read(killed);
  assert.deepEqual(b.epochs, a.epochs, 'epoch records equal as doubles');
  assert.equal(b.checkpoints[0].epoch, 3);
  assert.equal(b.checkpoints[0].sha256, a.checkpoints[0].sha256, 'final weights, batch-norm statistics, momentum and random streams equal');
  assert.equal(b.runs[0].attempts, 2);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to the main process only: workers release their runs, exit ${signal === 'SIGTERM' ? 143 : 130}, a re-run resumes them`, async () => {
    const file = tinyProtocolFile(dir, { name: `signal-${signal}`, seeds: 2, maxEpochs: 3, trainFraction: 0.6 }, `${signal}.json`);
    const results = path.join(dir, `${signal}.sqlite`);
    const cli = startCli(args(file, results, ['--workers', '2']));
    await cli.waitFor(/\] epoch 2: \d+\/\d+ iterations/);
    const workers = childPids(cli.child.pid!);
    assert.equal(workers.length, 2);
    const sent = Date.now();
    cli.child.kill(signal); // the main process only, not its process group
    const exit = await cli.exited;
    const took = (Date.now() - sent) / 1000;
    const out = `${cli.lines.join('\n')}\n${cli.stderr()}`;
    assert.equal(exit.code, signal === 'SIGTERM' ? 143 : 130, out);
    assert.match(cli.stderr(), new RegExp(`${signal}: stopping every run within one iteration and releasing it`));
    assert.match(cli.stderr(), /interrupted \(SIG(TERM|INT)\): [12] runs? released, resumable from the last checkpoint/);
    assert.ok(took < 30, `stopped in ${took.toFixed(1)} s`);
    for (const pid of workers) assert.ok(!alive(pid), `worker ${pid} exited`);
    const mid = read(results);
    for (const r of mid.runs.filter((x) => x.status === 'running')) assert.equal(r.lease_owner, null, `${r.run_id} released`);
    // status names the released runs (seed, epochs done) instead of counting them as waiting or running
    const releasedRuns = mid.runs.filter((x) => x.status === 'running');
    const status = runCli(['status', '--results', results]);
    assert.equal(status.status, 0, status.stderr);
    const planned = 2 - mid.runs.length;
    assert.match(status.stdout, new RegExp(`cosine: ${mid.runs.filter((x) => x.status !== 'running' && x.status !== 'failed').length} finished, 0 running, ${planned} waiting, 0 failed, ${releasedRuns.length} released \\(resumable: seed \\d after \\d epochs?`), status.stdout);
    const again = runCli(args(file, results, ['--workers', '2']));
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.doesNotMatch(again.stdout, /being trained|held by/);
    const end = read(results);
    assert.deepEqual(end.runs.map((r) => r.status), ['completed', 'completed']);
    assert.equal(end.epochs.length, 6);
  });
}

test('a worker whose parent is killed -9 stops within about a second and leaves its run resumable', async () => {
  const file = tinyProtocolFile(dir, { name: 'orphan', maxEpochs: 3, trainFraction: 1 }, 'orphan.json');
  const results = path.join(dir, 'orphan.sqlite');
  const cli = startCli(args(file, results, ['--workers', '1']));
  await cli.waitFor(/\] epoch 1: \d+\/\d+ iterations/);
  const [worker] = childPids(cli.child.pid!);
  cli.child.kill('SIGKILL');
  const t0 = Date.now();
  while (alive(worker) && Date.now() - t0 < 10000) await sleep(50);
  const took = (Date.now() - t0) / 1000;
  assert.ok(!alive(worker), 'the orphaned worker exited');
  assert.ok(took < 3, `the orphaned worker exited ${took.toFixed(2)} s after its parent`);
  const again = runCli(args(file, results, ['--workers', '0']));
  assert.equal(again.status, 0, again.stdout + again.stderr);
  assert.equal(read(results).runs[0].status, 'completed');
});

test('--max-runs K stops a worker after K runs; the next invocation trains the rest', () => {
  const file = tinyProtocolFile(dir, { name: 'maxruns', seeds: 3, maxEpochs: 1, trainFraction: 0.1 }, 'maxruns.json');
  const results = path.join(dir, 'maxruns.sqlite');
  const first = runCli(args(file, results, ['--workers', '0', '--max-runs', '2']));
  assert.equal(first.status, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /trained 2, skipped 0 finished, failed 0/);
  assert.equal(read(results).runs.length, 2);
  const second = runCli(args(file, results, ['--workers', '0']));
  assert.match(second.stdout, /2 already finished, 1 to train/);
  assert.match(second.stdout, /trained 1, skipped 2 finished/);
});
