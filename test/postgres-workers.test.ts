/**
 * Many workers, one PostgreSQL store, real processes and real faults (test/fixtures/postgres.ts):
 * 1. four workers posing as two hosts (WORKER_HOST) drain 8 tiny runs: each trained once, every epoch once;
 * 2. kill -9 of a worker mid-run: after its lease expires another worker resumes the run from its
 *    checkpoint, and the epoch records equal an uninterrupted run's (doubles) with the same final weights;
 * 3. `pg_ctl restart` mid-protocol: workers say so on one line, retry with backoff, carry on;
 * 4. a worker cut off from the database (a TCP proxy that drops its connections): it stops training
 *    once it cannot renew its lease, another worker takes the run over, and the cut-off worker never
 *    writes an epoch of it (fencing), also after the network heals.
 * 5. the database gone longer than the lease (issue 20): nobody took the run, so the worker claims it
 *    again and finishes it (a launcher never sees exit 0 for a run left "running" under a dead owner),
 *    with epochs equal to an uninterrupted run's.
 * Fails (never skips) when the PostgreSQL server is not installed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { partitionableProxy, startPostgres, type TestPostgres } from './fixtures/postgres';
import { makeMiniDataset, runCli, sleep, startCli, tinyProtocolFile } from './fixtures/reliability/support';
import { tmpDir } from './helpers';

type EpochRow = { run_id: string; epoch: number; train_loss: number; train_accuracy: number; validation_loss: number; validation_accuracy: number; test_loss: number; test_accuracy: number; iteration: number; learning_rate: number };
const VALUES = 'run_id, epoch, iteration, learning_rate, train_loss, train_accuracy, validation_loss, validation_accuracy, test_loss, test_accuracy';

describe('workers on many hosts drain one PostgreSQL store', () => {
  let pg: TestPostgres;
  const dir = tmpDir('ws-pg-workers-');
  const data = makeMiniDataset({ train: 1000, test: 100 });
  before(async () => { pg = await startPostgres(); });
  after(() => pg?.stop());
  const args = (protocolFile: string, results: string, extra: string[] = []) =>
    ['experiment', '--protocol-file', protocolFile, '--data', data, '--results', results, '--batch-size', '32', '--workers', '0', ...extra];
  const epochs = (db: string) => pg.sql<EpochRow>(db, `SELECT ${VALUES} FROM epochs ORDER BY run_id, epoch`);

  it('four workers as two hosts: 8 runs, each trained once, every epoch present once', async () => {
    const file = tinyProtocolFile(dir, {
      name: 'drain', seeds: 4, maxEpochs: 2, trainFraction: 0.1,
      arms: [
        { name: 'cosine', schedule: { kind: 'cosine', lrMax: 0.05, lrMin: 0, cycleLengthEpochs: 1, cycleMult: 1, warmup: null } },
        { name: 'constant', schedule: { kind: 'constant', lr: 0.05 } },
      ],
    }, 'drain.json');
    const url = await pg.createDatabase('drain');
    const workers = ['host-a', 'host-a', 'host-b', 'host-b'].map((host) => startCli(args(file, url), { env: { WORKER_HOST: host } }));
    const exits = await Promise.all(workers.map((w) => w.exited));
    const out = workers.map((w) => `${w.lines.join('\n')}\n${w.stderr()}`);
    assert.deepEqual(exits.map((e) => e.code), [0, 0, 0, 0], out.join('\n----\n'));
    const runs = await pg.sql<{ run_id: string; status: string; attempts: number; host: string }>('drain', 'SELECT run_id, status, attempts, host FROM runs');
    assert.equal(runs.length, 8);
    for (const r of runs) {
      assert.ok(['completed', 'censored'].includes(r.status), `${r.run_id}: ${r.status}`);
      assert.equal(r.attempts, 1, `${r.run_id} trained once`);
    }
    assert.deepEqual(new Set(runs.map((r) => r.host)), new Set(['host-a', 'host-b']), 'both hosts trained');
    const rows = await epochs('drain');
    assert.equal(rows.length, 16);
    assert.equal(new Set(rows.map((r) => `${r.run_id}|${r.epoch}`)).size, 16);
    const trained = out.map((o) => Number(/trained (\d+)/.exec(o)?.[1] ?? NaN));
    assert.equal(trained.reduce((a, b) => a + b, 0), 8, out.join('\n----\n'));
    const status = runCli(['status', '--results', url]);
    assert.match(status.stdout, /cosine: 4 finished, 0 running, 0 waiting, 0 failed/);
  });

  it('kill -9 of a worker mid-run: another worker takes over after the lease and resumes exactly', async () => {
    const file = tinyProtocolFile(dir, { name: 'takeover', seeds: 1, maxEpochs: 3, trainFraction: 0.5 }, 'takeover.json');
    // the uninterrupted run, in its own store
    const reference = path.join(dir, 'reference.sqlite');
    const ref = runCli(args(file, reference));
    assert.equal(ref.status, 0, ref.stdout + ref.stderr);
    const url = await pg.createDatabase('takeover');
    const lease = ['--lease-seconds', '4', '--heartbeat-seconds', '1'];
    const a = startCli(args(file, url, lease), { env: { WORKER_HOST: 'host-a' } });
    await a.waitFor(/\] epoch 1\/3 /);
    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await a.exited;
    const b = startCli(args(file, url, lease), { env: { WORKER_HOST: 'host-b' } });
    const resumed = await b.waitFor(/resuming from the checkpoint of epoch 1/);
    const takeover = (Date.now() - killedAt) / 1000;
    assert.ok(resumed);
    const end = await b.exited;
    assert.equal(end.code, 0, b.lines.join('\n') + b.stderr());
    assert.ok(takeover >= 3, `taken over only after the lease expired (${takeover.toFixed(1)} s)`);
    const got = await epochs('takeover');
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(reference, { readonly: true });
    const want = db.prepare(`SELECT ${VALUES} FROM epochs ORDER BY run_id, epoch`).all() as EpochRow[];
    const ckRef = db.prepare('SELECT sha256 FROM checkpoints').pluck().get();
    db.close();
    assert.equal(got.length, 3);
    assert.deepEqual(got, want, 'epoch records identical to the uninterrupted run (losses and accuracies as doubles)');
    const [ck] = await pg.sql<{ sha256: string; epoch: number }>('takeover', 'SELECT sha256, epoch FROM checkpoints');
    assert.equal(ck.epoch, 3);
    assert.equal(ck.sha256, ckRef, 'final weights, momentum and random streams identical');
    const [run] = await pg.sql<{ attempts: number; status: string; host: string }>('takeover', 'SELECT attempts, status, host FROM runs');
    assert.deepEqual(run, { attempts: 2, status: 'completed', host: 'host-b' });
    console.log(`# takeover after kill -9 with a 4 s lease: ${takeover.toFixed(1)} s`);
  });

  it('pg_ctl restart in the middle of a protocol: workers retry with backoff, say so, and lose or duplicate nothing', async () => {
    const file = tinyProtocolFile(dir, { name: 'restart', seeds: 2, maxEpochs: 3, trainFraction: 0.5 }, 'restart.json');
    const url = await pg.createDatabase('restart');
    const workers = ['host-a', 'host-b'].map((h) => startCli(args(file, url, ['--heartbeat-seconds', '1']), { env: { WORKER_HOST: h } }));
    await Promise.all(workers.map((w) => w.waitFor(/\] epoch 1\/3 /)));
    await pg.restart(8); // pg_ctl stop, 8 s without a database (heartbeats and epoch writes fail), pg_ctl start
    const exits = await Promise.all(workers.map((w) => w.exited));
    const out = workers.map((w) => `${w.lines.join('\n')}\n${w.stderr()}`).join('\n----\n');
    assert.deepEqual(exits.map((e) => e.code), [0, 0], out);
    // each worker says so on one line (its lease heartbeat or a store operation), then says it is back
    for (const w of workers) {
      const text = `${w.lines.join('\n')}\n${w.stderr()}`;
      assert.match(text, /results store postgres:\/\/postgres@127\.0\.0\.1:\d+\/restart: connection lost \(.*\); retrying with backoff|cannot renew the lease \(.*\); retrying every 1 s/, text);
      assert.match(text, /reachable again after \d+\.\d s|lease renewed again/, text);
      assert.equal(text.match(/connection lost|cannot renew the lease/g)!.length <= 2, true, 'one line per outage (store and heartbeat at most)');
    }
    const rows = await epochs('restart');
    assert.equal(rows.length, 6);
    assert.equal(new Set(rows.map((r) => `${r.run_id}|${r.epoch}`)).size, 6);
    const runs = await pg.sql<{ attempts: number; status: string }>('restart', 'SELECT attempts, status FROM runs');
    assert.ok(runs.every((r) => r.attempts === 1 && r.status !== 'failed' && r.status !== 'running'), JSON.stringify(runs));
  });

  it('a worker cut off from the database stops the run once its lease cannot be renewed and never writes over the worker that took it', async () => {
    const file = tinyProtocolFile(dir, { name: 'partition', seeds: 1, maxEpochs: 4, trainFraction: 1 }, 'partition.json');
    const url = await pg.createDatabase('partition');
    const proxy = await partitionableProxy(pg.port);
    try {
      const viaProxy = url.replace(`:${pg.port}/`, `:${proxy.port}/`);
      const lease = ['--lease-seconds', '3', '--heartbeat-seconds', '0.5', '--threads', '1'];
      const a = startCli(args(file, viaProxy, lease), { env: { WORKER_HOST: 'host-a' } });
      await a.waitFor(/\] epoch 1\/4 /);
      const b = startCli(args(file, url, lease), { env: { WORKER_HOST: 'host-b' } });
      await b.waitFor(/1 to train/);
      proxy.cut();
      const stopped = await a.waitFor(/lease could not be renewed for 3 s|lease lost/, 60000);
      await b.waitFor(/resuming from the checkpoint of epoch [1-4]/, 60000);
      proxy.heal(); // the network comes back while b trains the run
      const [ea, eb] = [await a.exited, await b.exited];
      const out = `${a.lines.join('\n')}\n${a.stderr()}\n----\n${b.lines.join('\n')}\n${b.stderr()}`;
      assert.ok(stopped, out);
      assert.equal(eb.code, 0, out);
      assert.equal(ea.code, 0, out);
      // a wrote no epoch while b held the run (fencing); once healed it claims the run again and may take
      // it back only if b's lease lapses in turn: the epochs each wrote (printed after the write) are disjoint
      const written = (w: typeof a) => w.lines.map((l) => /\] epoch (\d)\/4 /.exec(l)?.[1]).filter(Boolean).map(Number);
      assert.deepEqual([...written(a), ...written(b)].sort(), [1, 2, 3, 4], out);
      assert.match(a.lines.join('\n'), /lease lost: claiming run \S+ again/);
      const rows = await epochs('partition');
      assert.deepEqual(rows.map((r) => r.epoch), [1, 2, 3, 4], 'every epoch once');
      const [run] = await pg.sql<{ attempts: number; host: string; status: string }>('partition', 'SELECT attempts, host, status FROM runs');
      const finisher = written(a).includes(4) ? 'host-a' : 'host-b';
      assert.equal(run.host, finisher, 'the record names the worker that wrote the last epoch');
      assert.equal(run.attempts, finisher === 'host-b' ? 2 : 3, out);
    } finally {
      await proxy.close();
    }
    await sleep(10);
  });

  it('database gone longer than the lease under --run-index: the worker claims its run again and finishes it, exit 0 only then', async () => {
    const file = tinyProtocolFile(dir, { name: 'outage', seeds: 2, maxEpochs: 4, trainFraction: 1 }, 'outage.json');
    const reference = path.join(dir, 'outage-reference.sqlite');
    const ref = runCli(args(file, reference, ['--run-index', '1', '--threads', '1']));
    assert.equal(ref.status, 0, ref.stdout + ref.stderr);
    const url = await pg.createDatabase('outage');
    const w = startCli(args(file, url, ['--run-index', '1', '--threads', '1', '--workers', '1', '--lease-seconds', '3', '--heartbeat-seconds', '0.5']));
    await w.waitFor(/\] epoch 1\/4 /);
    await pg.restart(9); // three leases long: no heartbeat, the lease lapses with nobody to take it
    const end = await w.exited;
    const out = `${w.lines.join('\n')}\n${w.stderr()}`;
    assert.equal(end.code, 0, out);
    assert.match(out, /lease could not be renewed for 3 s/, out);
    assert.match(out, /lease lost: claiming run \S+ again/, out);
    const runs = await pg.sql<{ run_id: string; status: string; lease_owner: string | null; seed: number }>('outage', 'SELECT run_id, status, lease_owner, seed FROM runs');
    assert.deepEqual(runs.map((r) => [r.seed, r.status, r.lease_owner]), [[1, 'completed', null]], 'run index 1 (seed 1) finished, held by nobody');
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(reference, { readonly: true });
    const want = db.prepare(`SELECT ${VALUES} FROM epochs ORDER BY run_id, epoch`).all() as EpochRow[];
    db.close();
    assert.deepEqual(await epochs('outage'), want, 'every epoch once, equal to the uninterrupted run');
  });
});
