/**
 * The results store on a real PostgreSQL (a temporary cluster on 127.0.0.1, test/fixtures/postgres.ts):
 * the interface's guarantees as on SQLite (claims, fencing), 8 concurrent writer processes x 1,000
 * epoch rows, copy-store both ways (idempotent), bad URLs (wrong or missing password, unreachable host, newer
 * schema, another program's tables: one line naming host and database, nothing trained), and a
 * password that never appears in a log line, an error, a run record, a report or a status.
 * Fails (never skips) when the PostgreSQL server is not installed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openResultsStore, workerIdentity, LeaseLostError, SCHEMA_VERSION, type StoredRun } from '../src/store';
import { copyStore } from '../src/store/copy';
import { tmpDir } from './helpers';
import { PG_PASSWORD, startPostgres, type TestPostgres } from './fixtures/postgres';
import { writeHandRun } from './fixtures/hand-runs';
import { CLI, DIST_SRC, FIXTURES, makeMiniDataset, runCli, sleep, tinyProtocolFile } from './fixtures/reliability/support';

const start = (runId: string, seed = 0) => ({
  runId, protocol: 'p', arm: 'a', seed, config: { seed }, configHash: 'h', target: 0.5, backend: 'wasm', versions: {}, codeVersion: 'c',
});
const epoch = (runId: string, e: number) => ({
  runId, epoch: e, iteration: e * 3, learningRate: 0.1, trainLoss: 1 / 3, trainAccuracy: 0.1 + e / 7, validationLoss: Math.PI, validationAccuracy: 0.5,
  testLoss: Math.E, testAccuracy: 0.25, trainSeconds: e * 1.5, totalSeconds: e * 2.25, trainCpuSeconds: e * 3, totalCpuSeconds: e * 4.5,
});

describe('PostgreSQL results store', () => {
  let pg: TestPostgres;
  const dir = tmpDir('ws-pg-store-');
  before(async () => { pg = await startPostgres(); });
  after(() => pg?.stop());

  it('claims, exact doubles, checkpoints and fencing as on SQLite', async () => {
    const url = await pg.createDatabase('basics');
    const s = await openResultsStore(url);
    assert.equal(s.created, true);
    assert.equal(s.location, `postgres://postgres@127.0.0.1:${pg.port}/basics`, 'no password in the location');
    const a = workerIdentity();
    const ca = await s.claimRun(start('r'), a, { leaseSeconds: 0.3 });
    assert.ok(ca.claimed);
    const ck = new Uint8Array(2_300_000).map((_, i) => i % 251);
    await s.recordEpoch(ca.lease, epoch('r', 1), { epochsCompleted: 1 }, ck);
    assert.deepEqual(await s.listEpochs(['r']), [epoch('r', 1)], 'doubles round-trip exactly');
    await sleep(500);
    const b = { host: 'host-b', pid: 1, owner: 'host-b:1:x' };
    const cb = await s.claimRun(start('r'), b, { leaseSeconds: 60 });
    assert.ok(cb.claimed && cb.resume!.epoch === 1);
    assert.deepEqual(Buffer.from(cb.resume!.checkpoint), Buffer.from(ck));
    await assert.rejects(s.recordEpoch(ca.lease, epoch('r', 2), { epochsCompleted: 2 }, null), LeaseLostError);
    await s.recordEpoch(cb.lease, epoch('r', 2), { epochsCompleted: 2 }, null);
    await s.finishRun(cb.lease, { status: 'completed' });
    assert.equal((await s.getRun('r'))!.attempts, 2);
    await s.close();
  });

  it('8 writer processes at once on a new database: 8 x 1,000 epoch rows, none lost or duplicated', async () => {
    const url = await pg.createDatabase('writers');
    const go = path.join(dir, 'go');
    const outputs: string[] = [];
    const WRITERS = 8;
    const RUNS = 4;
    const EPOCHS = 250;
    const exits = Array.from({ length: WRITERS }, (_, w) => new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [path.join(FIXTURES, 'writer.js'), DIST_SRC, url, String(w), String(RUNS), String(EPOCHS), go], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { out += d; });
      child.on('exit', (code) => { outputs[w] = out; resolve(code); });
    }));
    await sleep(1500);
    fs.writeFileSync(go, '');
    const codes = await Promise.all(exits);
    assert.deepEqual(codes, Array(WRITERS).fill(0), outputs.join('\n'));
    const rows = await pg.sql<{ run_id: string; epoch: number; iteration: number }>('writers', 'SELECT run_id, epoch, iteration FROM epochs');
    assert.equal(rows.length, WRITERS * RUNS * EPOCHS);
    const got = new Set(rows.map((r) => `${r.run_id}|${r.epoch}|${r.iteration}`));
    for (let w = 0; w < WRITERS; w++) for (let r = 0; r < RUNS; r++) for (let e = 1; e <= EPOCHS; e++) {
      assert.ok(got.has(`writer-${w}/run-${r}|${e}|${w * 1e6 + r * 1e3 + e}`), `writer ${w} run ${r} epoch ${e}`);
    }
    const runs = await pg.sql<{ status: string; epochs_completed: number; attempts: number }>('writers', 'SELECT status, epochs_completed, attempts FROM runs');
    assert.equal(runs.length, WRITERS * RUNS);
    assert.ok(runs.every((r) => r.status === 'completed' && r.epochs_completed === EPOCHS && r.attempts === 1));
  });

  it('copy-store SQLite -> PostgreSQL -> SQLite copies runs, epochs and checkpoints, idempotently', async () => {
    const src = path.join(dir, 'src.sqlite');
    const s = await openResultsStore(src);
    for (let seed = 0; seed < 3; seed++) {
      await writeHandRun(s, start(`run-${seed}`, seed), [1, 2, 3].map((e) => [epoch(`run-${seed}`, e), { epochsCompleted: e }]), seed === 2 ? 'running' : 'completed');
    }
    await s.close();
    const url = await pg.createDatabase('copy');
    const first = await copyStore(src, url);
    assert.equal(first.copied, 3);
    assert.equal(first.to, `postgres://postgres@127.0.0.1:${pg.port}/copy`);
    const again = await copyStore(src, url);
    assert.deepEqual([again.copied, again.unchanged], [0, 3], 'copying again changes nothing');
    const back = path.join(dir, 'back.sqlite');
    await copyStore(url, back);
    const [a, b] = [await openResultsStore(src, { readonly: true }), await openResultsStore(back, { readonly: true })];
    const strip = (r: StoredRun) => ({ ...r, leaseOwner: null, leaseExpiresAt: null, leaseExpired: false });
    assert.deepEqual((await b.listRuns()).map(strip), (await a.listRuns()).map(strip));
    assert.deepEqual(await b.listEpochs(), await a.listEpochs());
    await a.close();
    await b.close();
  });

  it('wrong password, unreachable host, newer schema, foreign tables: one line naming host and database, exit 1, nothing trained', async () => {
    const data = makeMiniDataset({ train: 200, test: 20 });
    const file = tinyProtocolFile(dir);
    const url = await pg.createDatabase('bad');
    const experiment = (results: string) => runCli(['experiment', '--protocol-file', file, '--data', data, '--workers', '0', '--results', results], { env: { PGPASSWORD: '', PGPASSFILE: '/nonexistent' } });
    const cases: [string, RegExp][] = [
      [pg.url('bad', 'postgres', 'wrong-password'), new RegExp(`^error: postgres://postgres@127\\.0\\.0\\.1:${pg.port}/bad: cannot open the results store: password authentication failed for user "postgres"`)],
      ['postgres://someone:hunter2@127.0.0.1:1/study', /^error: postgres:\/\/someone@127\.0\.0\.1:1\/study: cannot open the results store: connect ECONNREFUSED 127\.0\.0\.1:1/],
      [pg.url('no_such_db'), new RegExp(`^error: postgres://postgres@127\\.0\\.0\\.1:${pg.port}/no_such_db: cannot open the results store: database "no_such_db" does not exist`)],
      [`postgres://postgres@127.0.0.1:${pg.port}/bad`, new RegExp(`^error: postgres://postgres@127\\.0\\.0\\.1:${pg.port}/bad: cannot open the results store: the server asks for a password and none was given; set PGPASSWORD or add the password to ~/\\.pgpass$`)],
    ];
    for (const [results, expected] of cases) {
      const r = experiment(results);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr.trim(), expected);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /wrong-password|hunter2|epoch 1/);
    }
    await (await openResultsStore(url)).close();
    await pg.sql('bad', "UPDATE meta SET value = $1 WHERE key = 'schema_version'", [String(SCHEMA_VERSION + 1)]);
    const newer = experiment(url);
    assert.equal(newer.status, 1);
    assert.match(newer.stderr, new RegExp(`^error: postgres://postgres@127\\.0\\.0\\.1:${pg.port}/bad: schema version ${SCHEMA_VERSION + 1} is newer than this code's ${SCHEMA_VERSION}`));
    assert.equal((await pg.sql('bad', 'SELECT * FROM runs')).length, 0, 'nothing trained');
    const foreign = await pg.createDatabase('foreign');
    await pg.sql('foreign', 'CREATE TABLE runs (id integer)');
    const f = experiment(foreign);
    assert.equal(f.status, 1);
    assert.match(f.stderr, /foreign: has tables named runs that are not a results store \(no schema marker\); refusing to touch them/);
    assert.equal((await pg.sql('foreign', "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'"))[0].n, 1, 'nothing created');
    // another program's meta(key, value) with schema_version 1 and its own runs table (issue 20): refused, untouched
    const other = await pg.createDatabase('foreign_meta');
    await pg.sql('foreign_meta', "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('schema_version', '1'); CREATE TABLE runs (id INTEGER, total REAL)");
    const shape = () => pg.sql('foreign_meta', "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2");
    const before = JSON.stringify([await shape(), await pg.sql('foreign_meta', 'SELECT * FROM meta ORDER BY key')]);
    for (const args of [['experiment', '--protocol-file', file, '--data', data, '--workers', '0', '--results', other], ['status', '--results', other]]) {
      const m = runCli(args);
      assert.equal(m.status, 1, m.stdout + m.stderr);
      assert.match(m.stderr, new RegExp(`^error: postgres://postgres@127\\.0\\.0\\.1:${pg.port}/foreign_meta: has tables named meta, runs that are not a results store \\(its meta table lacks this workspace's application marker \\(schema_version 1, application absent\\) and its tables lack runs\\.run_id, runs\\.protocol, runs\\.arm, \\.\\.\\.\\); refusing to touch them, use another database\n$`));
    }
    assert.equal(JSON.stringify([await shape(), await pg.sql('foreign_meta', 'SELECT * FROM meta ORDER BY key')]), before, 'tables, columns and meta unchanged');
  });

  it('the password appears in no log line, error, run record, status, CSV or report', async () => {
    const data = makeMiniDataset({ train: 200, test: 20 });
    const file = tinyProtocolFile(dir, { maxEpochs: 1, name: 'secret' });
    const url = await pg.createDatabase('secret');
    const outputs: string[] = [];
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const r = runCli(args, { env });
      outputs.push(r.stdout, r.stderr);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      return r;
    };
    run(['experiment', '--protocol-file', file, '--data', data, '--workers', '1', '--batch-size', '32', '--results', url]);
    run(['experiment', '--protocol-file', file, '--data', data, '--workers', '0', '--batch-size', '32'], { RESULTS_URL: url });
    run(['status', '--results', url]);
    run(['analyze', '--results', url]);
    const csv = path.join(dir, 'csv');
    run(['export-csv', '--results', url, '--out', csv]);
    const report = path.join(dir, 'report', 'report.md');
    run(['report', '--results', url, '--out', report, '--formats', 'html']);
    const stored = JSON.stringify(await pg.sql('secret', 'SELECT r.*, e.* FROM runs r LEFT JOIN epochs e USING (run_id)'));
    const files = [...fs.readdirSync(csv).map((f) => path.join(csv, f)), report].map((f) => fs.readFileSync(f, 'utf8'));
    for (const text of [...outputs, stored, ...files]) assert.ok(!text.includes(PG_PASSWORD), `password found in: ${text.slice(0, 300)}`);
    assert.match(outputs.join('\n'), new RegExp(`postgres://postgres@127\\.0\\.0\\.1:${pg.port}/secret`), 'the store is named, without its password');
  });
});
