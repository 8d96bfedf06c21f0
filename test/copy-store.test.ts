/**
 * copy-store between a SQLite file and a real PostgreSQL (test/fixtures/postgres.ts), through the
 * CLI as a real process (issue 20): a finished run is never replaced by a different finished run of
 * the same id (a wasm and a oneDNN run of one seed share an id): the conflict is one line naming the
 * run, the target keeps its run and the command exits 1 unless --on-conflict says which side wins;
 * identical runs are skipped; a corrupt checkpoint is reported and not copied; --no-checkpoints
 * copies runs, epochs and planned runs only, --checkpoints unfinished the checkpoints of the runs
 * still training only. Every value checked is read back with SQL, not through
 * the workspace, and compared with the values the test wrote.
 * Fails (never skips) when the PostgreSQL server is not installed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openResultsStore, workerIdentity, type ResultsStore } from '../src/store';
import { tmpDir } from './helpers';
import { startPostgres, type TestPostgres, PG_PASSWORD } from './fixtures/postgres';
import { runCli } from './fixtures/reliability/support';

const RUN = 'p/a/seed0/h';
const start = (backend: string, versions: Record<string, string>) => ({
  runId: RUN, protocol: 'p', arm: 'a', seed: 0, config: { seed: 0 }, configHash: 'h', target: 0.5, backend, versions, codeVersion: 'c',
});
/** Epoch e of a run whose accuracies are offset by `shift` (two engines round differently). */
const epoch = (e: number, shift: number) => ({
  runId: RUN, epoch: e, iteration: e * 3, learningRate: 0.1, trainLoss: 1 / 3, trainAccuracy: 0.1 + e / 7 + shift, validationLoss: Math.PI,
  validationAccuracy: 0.5 + shift, testLoss: Math.E, testAccuracy: 0.25 + shift, trainSeconds: e, totalSeconds: e * 2, trainCpuSeconds: e, totalCpuSeconds: e,
});
const CHECKPOINT = new Uint8Array(4096).map((_, i) => (i * 7) % 256);

/** A finished run of two epochs, each with a checkpoint. */
async function finishedRun(s: ResultsStore, backend: string, versions: Record<string, string>, shift: number): Promise<void> {
  const c = await s.claimRun(start(backend, versions), workerIdentity(), { leaseSeconds: 60 });
  assert.ok(c.claimed);
  for (const e of [1, 2]) await s.recordEpoch(c.lease, epoch(e, shift), { epochsCompleted: e }, CHECKPOINT);
  await s.finishRun(c.lease, { status: 'completed' });
  await s.planRuns([{ runId: RUN, protocol: 'p', arm: 'a', seed: 0, position: 0, config: { seed: 0 } }]);
}

describe('copy-store never overwrites a finished run with a different one', () => {
  let pg: TestPostgres;
  const dir = tmpDir('ws-copy-');
  before(async () => { pg = await startPostgres(); });
  after(() => pg?.stop());
  const accuracies = (db: string) => pg.sql<{ backend: string; test_accuracy: number }>(db,
    'SELECT r.backend, e.test_accuracy FROM runs r JOIN epochs e USING (run_id) ORDER BY e.epoch');

  it('a wasm run in PostgreSQL and a oneDNN run of the same id in SQLite: conflict reported, target kept, exit 1; the policy decides', async () => {
    const url = await pg.createDatabase('conflict');
    const target = await openResultsStore(url);
    await finishedRun(target, 'wasm', { convolutions: 'winograd F(4x4,3x3)' }, 0);
    await target.close();
    const file = path.join(dir, 'onednn.sqlite');
    const source = await openResultsStore(file);
    await finishedRun(source, 'onednn', { onednn: '3.5.3' }, 0.125);
    await source.close();

    const r = runCli(['copy-store', '--from', file, '--to', url]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const conflicts = r.stdout.split('\n').filter((l) => l.startsWith('conflict:'));
    assert.equal(conflicts.length, 1, r.stdout);
    assert.match(conflicts[0], /^conflict: run p\/a\/seed0\/h \(p a seed 0\) is finished in both stores but differs \(engine wasm winograd F\(4x4,3x3\) here vs onednn 3\.5\.3 in the source; epoch 1 differs\); kept /);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^error: 1 run finished differently in the two stores/);
    assert.ok(!(r.stdout + r.stderr).includes(PG_PASSWORD));
    assert.deepEqual(await accuracies('conflict'), [{ backend: 'wasm', test_accuracy: 0.25 }, { backend: 'wasm', test_accuracy: 0.25 }], 'the target keeps its run');

    const keep = runCli(['copy-store', '--from', file, '--to', url, '--on-conflict', 'keep-target']);
    assert.equal(keep.status, 0, keep.stdout + keep.stderr);
    assert.deepEqual(await accuracies('conflict'), [{ backend: 'wasm', test_accuracy: 0.25 }, { backend: 'wasm', test_accuracy: 0.25 }]);

    const take = runCli(['copy-store', '--from', file, '--to', url, '--on-conflict', 'take-source']);
    assert.equal(take.status, 0, take.stdout + take.stderr);
    assert.match(take.stdout, /replaced by the source's/);
    assert.deepEqual(await accuracies('conflict'), [{ backend: 'onednn', test_accuracy: 0.375 }, { backend: 'onednn', test_accuracy: 0.375 }]);

    const again = runCli(['copy-store', '--from', file, '--to', url]);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^copied 0 runs \(1 unchanged/m, 'identical runs are skipped, no conflict');
    const bad = runCli(['copy-store', '--from', file, '--to', url, '--on-conflict', 'newest']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--on-conflict must be one of fail, keep-target, take-source, got "newest"/);
  });

  it('a corrupt checkpoint is reported and not copied; --no-checkpoints copies runs, epochs and planned runs only', async () => {
    const url = await pg.createDatabase('corrupt');
    const s = await openResultsStore(url);
    await finishedRun(s, 'wasm', {}, 0);
    await s.close();
    await pg.sql('corrupt', 'UPDATE checkpoints SET state = $1', [Buffer.from(CHECKPOINT.map((b) => b ^ 1))]);
    const file = path.join(dir, 'copy.sqlite');
    const r = runCli(['copy-store', '--from', url, '--to', file]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /run p\/a\/seed0\/h \(p a seed 0\): checkpoint of epoch 2 in postgres:\/\/postgres@127\.0\.0\.1:\d+\/corrupt is corrupt \(sha256 mismatch\); not copied/);
    assert.match(r.stdout, /1 corrupt checkpoint left out/);
    const db = new Database(file, { readonly: true });
    assert.equal(db.prepare('SELECT COUNT(*) FROM checkpoints').pluck().get(), 0);
    assert.equal(db.prepare('SELECT COUNT(*) FROM epochs').pluck().get(), 2);
    db.close();

    await pg.sql('corrupt', 'UPDATE checkpoints SET state = $1', [Buffer.from(CHECKPOINT)]);
    const small = path.join(dir, 'small.sqlite');
    const n = runCli(['copy-store', '--from', url, '--to', small, '--no-checkpoints']);
    assert.equal(n.status, 0, n.stdout + n.stderr);
    assert.match(n.stdout, /^copied 1 runs \(0 unchanged, newer there or kept\) without checkpoints and 1 planned runs/m);
    const out = new Database(small, { readonly: true });
    assert.deepEqual(out.prepare('SELECT (SELECT COUNT(*) FROM checkpoints) AS c, (SELECT COUNT(*) FROM epochs) AS e, (SELECT COUNT(*) FROM planned_runs) AS p, (SELECT status FROM runs) AS s').get(),
      { c: 0, e: 2, p: 1, s: 'completed' });
    assert.deepEqual(out.prepare('SELECT test_accuracy FROM epochs ORDER BY epoch').pluck().all(), [0.25, 0.25]);
    out.close();
    const twice = runCli(['copy-store', '--from', url, '--to', small, '--no-checkpoints']);
    assert.match(twice.stdout, /^copied 0 runs \(1 unchanged, newer there or kept\) without checkpoints and 0 planned runs \(1 already there\)/m, 'idempotent without checkpoints too');
  });

  it('--checkpoints unfinished keeps the checkpoints of the runs still training only; a bad selection is one error', async () => {
    const file = path.join(dir, 'training.sqlite');
    const s = await openResultsStore(file);
    await finishedRun(s, 'wasm', {}, 0);
    const running = { ...start('wasm', {}), runId: 'p/a/seed1/h', seed: 1, config: { seed: 1 } };
    const c = await s.claimRun(running, workerIdentity(), { leaseSeconds: 60 });
    assert.ok(c.claimed);
    await s.recordEpoch(c.lease, { ...epoch(1, 0), runId: running.runId }, { epochsCompleted: 1 }, CHECKPOINT);
    await s.close();
    const out = path.join(dir, 'to-go-on.sqlite');
    const r = runCli(['copy-store', '--from', file, '--to', out, '--checkpoints', 'unfinished']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^copied 2 runs \(0 unchanged, newer there or kept\) with the checkpoints of unfinished runs only/m);
    const db = new Database(out, { readonly: true });
    assert.deepEqual(db.prepare('SELECT run_id, epoch, length(state) AS bytes FROM checkpoints').all(), [{ run_id: 'p/a/seed1/h', epoch: 1, bytes: CHECKPOINT.length }]);
    assert.deepEqual(db.prepare('SELECT run_id, status FROM runs ORDER BY run_id').all(), [{ run_id: RUN, status: 'completed' }, { run_id: 'p/a/seed1/h', status: 'running' }]);
    assert.equal(db.prepare('SELECT COUNT(*) FROM epochs').pluck().get(), 3);
    db.close();
    const bad = runCli(['copy-store', '--from', file, '--to', out, '--checkpoints', 'some']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--checkpoints must be one of all, unfinished, none, got "some"/);
    const both = runCli(['copy-store', '--from', file, '--to', out, '--checkpoints', 'all', '--no-checkpoints']);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--no-checkpoints contradicts --checkpoints all/);
  });
});
