/**
 * The results store through its interface, on SQLite: claims and leases (fencing), checkpoints
 * (resume point, corrupt checkpoint, epochs after it), CSV export, schema checks, and never touching
 * a database that is not a results store (md5 before and after).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openResultsStore, SCHEMA_VERSION, exportCsv, workerIdentity, LeaseLostError, type WorkerIdentity } from '../src/store';
import type { EpochRecord } from '../src/store';
import { tmpDir } from './helpers';
import { engineNotes } from '../src/analysis/results';
import { statusText, storeStatus } from '../src/store/status';
import { spawnSync } from 'node:child_process';

const start = (runId: string) => ({
  runId, protocol: 'p', arm: 'a', seed: 0, config: { x: 1 }, configHash: 'h', target: 0.85, backend: 'wasm',
  versions: { '@tensorflow/tfjs': '4.22.0' }, codeVersion: 'abc',
});
const epoch = (runId: string, e: number, validationAccuracy = 0.5): EpochRecord => ({
  runId, epoch: e, iteration: e * 10, learningRate: 0.1, trainLoss: 1, trainAccuracy: 0.5, validationLoss: 1,
  validationAccuracy, testLoss: 1, testAccuracy: 0.5, trainSeconds: e, totalSeconds: e + 0.5, trainCpuSeconds: e * 2, totalCpuSeconds: e * 2 + 1,
});
const md5 = (f: string) => crypto.createHash('md5').update(fs.readFileSync(f)).digest('hex');
const other = (w: WorkerIdentity): WorkerIdentity => ({ host: 'another-host', pid: w.pid, owner: `another-host:${w.pid}:x` });

test('claims, epochs, checkpoints: resume point, restart without checkpoint, corrupt checkpoint, CSV export', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'r.sqlite');
  const s = await openResultsStore(file);
  assert.equal(s.created, true);
  const me = workerIdentity();
  let c = await s.claimRun(start('r1'), me, { leaseSeconds: 60 });
  assert.ok(c.claimed && c.resume === null);
  const ck = new Uint8Array([1, 2, 3, 4]);
  await s.recordEpoch(c.lease, epoch('r1', 1), { epochsCompleted: 1, bestValidationAccuracy: 0.5 }, ck);
  await s.recordEpoch(c.lease, epoch('r1', 2, 0.9), { epochsCompleted: 2 }, null); // no checkpoint at epoch 2
  assert.equal((await s.getRun('r1'))!.checkpointEpoch, 1);
  // another claim (the worker died): resumes at the checkpoint's epoch 1; epoch 2 goes, to be recomputed
  c = await s.claimRun(start('r1'), other(me), { leaseSeconds: 60 });
  assert.equal(c.claimed, false, 'held by a live lease');
  c = await s.claimRun(start('r1'), me, { leaseSeconds: 60 });
  assert.ok(c.claimed);
  assert.equal(c.resume!.epoch, 1);
  assert.deepEqual([...c.resume!.checkpoint], [1, 2, 3, 4]);
  assert.equal(c.resume!.trainSeconds, 1);
  assert.equal(c.resume!.trainCpuSeconds, 2);
  assert.equal(c.resume!.totalCpuSeconds, 3);
  assert.equal(c.resume!.summary.epochsCompleted, 1);
  assert.equal(c.resume!.summary.epochsToTarget, null, 'summary recomputed from epochs <= checkpoint (0.9 at epoch 2 is gone)');
  assert.deepEqual((await s.listEpochs(['r1'])).map((e) => e.epoch), [1]);
  // a corrupt checkpoint: reported with the run's name, the run restarts from epoch 1
  const db = new Database(file);
  db.prepare("UPDATE checkpoints SET state = X'01020305' WHERE run_id = 'r1'").run();
  db.close();
  c = await s.claimRun(start('r1'), me, { leaseSeconds: 60 });
  assert.ok(c.claimed && c.resume === null);
  assert.match(c.notes.join(), /run r1: checkpoint of epoch 1 is corrupt \(sha256 mismatch\); restarting the run from epoch 1/);
  assert.equal((await s.listEpochs(['r1'])).length, 0);
  await s.recordEpoch(c.lease, epoch('r1', 1), { epochsCompleted: 1, epochsToTarget: 1, iterationsToTarget: 10, secondsToTarget: 1 }, ck);
  await s.finishRun(c.lease, { status: 'completed' });
  const r = (await s.getRun('r1'))!;
  assert.equal(r.status, 'completed');
  assert.equal(r.epochsToTarget, 1);
  assert.equal(r.attempts, 3);
  assert.equal(r.leaseOwner, null);
  assert.deepEqual(r.config, { x: 1 });
  assert.deepEqual(await s.claimRun(start('r1'), me, { leaseSeconds: 60 }), { claimed: false, reason: 'already finished (completed)', final: true });
  await s.close();
  const files = await exportCsv(file, path.join(dir, 'csv'));
  const runsCsv = fs.readFileSync(files[0], 'utf8').trim().split('\n');
  assert.equal(runsCsv.length, 2);
  assert.match(runsCsv[0], /^runId,protocol,arm,seed,/);
  const epochsCsv = fs.readFileSync(files[1], 'utf8').trim().split('\n');
  assert.equal(epochsCsv.length, 2);
  assert.equal(epochsCsv[1].split(',')[0], 'r1');
});

test('fencing: after a takeover, the old lease can neither write an epoch, renew, nor finish', async () => {
  const dir = tmpDir();
  const s = await openResultsStore(path.join(dir, 'f.sqlite'));
  const a = workerIdentity();
  const ca = await s.claimRun(start('r'), a, { leaseSeconds: 0.2 });
  assert.ok(ca.claimed);
  await s.recordEpoch(ca.lease, epoch('r', 1), { epochsCompleted: 1 }, new Uint8Array([9]));
  await new Promise((r) => setTimeout(r, 400)); // a's lease expires
  const b = other(a);
  const cb = await s.claimRun(start('r'), b, { leaseSeconds: 60 });
  assert.ok(cb.claimed, 'an expired lease is taken over');
  assert.equal(cb.resume!.epoch, 1);
  assert.equal(cb.lease.token, ca.lease.token + 1);
  await assert.rejects(s.recordEpoch(ca.lease, epoch('r', 2), { epochsCompleted: 2 }, null), LeaseLostError);
  assert.equal(await s.renewLease(ca.lease), false);
  await assert.rejects(s.finishRun(ca.lease, { status: 'completed' }), LeaseLostError);
  assert.deepEqual((await s.listEpochs(['r'])).map((e) => e.epoch), [1], 'nothing written under the old lease');
  assert.equal(await s.renewLease(cb.lease), true);
  await s.close();
});

test('a store from a newer schema version is refused; unwritable path and missing store are named', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'new.sqlite');
  await (await openResultsStore(file)).close();
  const db = new Database(file);
  db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION + 1));
  db.close();
  await assert.rejects(openResultsStore(file), new RegExp(`new\\.sqlite: schema version ${SCHEMA_VERSION + 1} is newer than this code's ${SCHEMA_VERSION}`));
  await assert.rejects(openResultsStore(path.join(dir, 'none.sqlite'), { readonly: true }), /none\.sqlite: results store does not exist/);
  const notDb = path.join(dir, 'text.sqlite');
  fs.writeFileSync(notDb, 'this is not a database, just text '.repeat(100));
  await assert.rejects(openResultsStore(notDb), /text\.sqlite: not an SQLite database/);
  const blocker = path.join(dir, 'blocker');
  fs.writeFileSync(blocker, 'a file where a folder is expected');
  await assert.rejects(openResultsStore(path.join(blocker, 'results.sqlite')), /results\.sqlite: not writable: its folder .*blocker cannot be written \((EEXIST|ENOTDIR)\)/);
  // a read-only store file is refused for writing, also as root (mode bits, not access())
  const ro = path.join(dir, 'ro.sqlite');
  await (await openResultsStore(ro)).close();
  fs.chmodSync(ro, 0o444);
  await assert.rejects(openResultsStore(ro), /ro\.sqlite: not writable: the file is read-only/);
  const read = await openResultsStore(ro, { readonly: true });
  assert.deepEqual(await read.listRuns(), []);
  await read.close();
});

test('another program\'s SQLite database is refused by writers and readers and left byte-identical; an empty file becomes a store', async () => {
  const dir = tmpDir();
  for (const [name, sql] of [['foreign.sqlite', 'CREATE TABLE notes (id INTEGER, text TEXT); INSERT INTO notes VALUES (1, \'mine\')'],
    ['foreign-runs.sqlite', 'CREATE TABLE runs (id TEXT); INSERT INTO runs VALUES (\'x\')']]) {
    const file = path.join(dir, name);
    const db = new Database(file);
    db.exec(sql);
    db.close();
    const before = md5(file);
    const files = fs.readdirSync(dir).sort();
    await assert.rejects(openResultsStore(file), new RegExp(`${name.replace('.', '\\.')}: not a results store \\(an SQLite database with tables (notes|runs) and no schema marker\\); refusing to touch it`));
    await assert.rejects(openResultsStore(file, { readonly: true }), /not a results store/);
    assert.equal(md5(file), before, 'byte-identical');
    assert.deepEqual(fs.readdirSync(dir).sort(), files, 'no -wal/-shm left');
  }
  const empty = path.join(dir, 'empty.sqlite');
  fs.writeFileSync(empty, '');
  await assert.rejects(openResultsStore(empty, { readonly: true }), /empty\.sqlite: is an empty file, not a results store yet/);
  const s = await openResultsStore(empty);
  assert.equal(s.created, true, 'a zero-byte file is initialised as a new store (and the caller says so)');
  await s.close();
});

test('a meta table with a schema_version but without the application marker (another program\'s) is refused untouched', async () => {
  const dir = tmpDir();
  const cases: [string, string, RegExp][] = [
    ['v1.sqlite', "INSERT INTO meta VALUES ('schema_version', '1')", /schema_version 1, application absent\) and its tables lack runs\.run_id, runs\.protocol, runs\.arm, \.\.\./],
    ['v2.sqlite', "INSERT INTO meta VALUES ('schema_version', '2')", /schema_version 2, application absent\) and its tables lack runs\.run_id/],
    ['other-app.sqlite', "INSERT INTO meta VALUES ('schema_version', '1'), ('application', 'ledger')", /its meta table belongs to another application \(schema_version 1, application "ledger"\)/],
  ];
  for (const [name, insert, why] of cases) {
    const file = path.join(dir, name);
    const db = new Database(file);
    db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); ${insert}; CREATE TABLE runs (id TEXT, total REAL); INSERT INTO runs VALUES ('x', 1)`);
    db.close();
    const before = md5(file);
    for (const readonly of [false, true]) {
      await assert.rejects(openResultsStore(file, { readonly }), (e: Error) => e.message.startsWith(`${file}: not a results store (an SQLite database with tables meta, runs and `) && why.test(e.message));
    }
    assert.equal(md5(file), before, `${name} byte-identical`);
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), cases.map((c) => c[0]).sort(), 'no -wal/-shm left');
});

test('a schema-1 store (data/example-results.sqlite) is read as it is, upgraded only by a writer', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'v1.sqlite');
  fs.copyFileSync(path.join(__dirname, '..', '..', 'data', 'example-results.sqlite'), file);
  const v = new Database(file, { readonly: true });
  assert.equal(v.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get(), '1', 'the committed example store is schema 1');
  v.close();
  const before = md5(file);
  const r = await openResultsStore(file, { readonly: true });
  const runs = await r.listRuns();
  assert.equal(runs.length, 10);
  assert.ok(runs.every((x) => x.checkpointEpoch === null && x.leaseOwner === null));
  await r.close();
  assert.equal(md5(file), before, 'read without a change');
  assert.deepEqual(fs.readdirSync(dir), ['v1.sqlite'], 'nothing left beside it');
  const w = await openResultsStore(file);
  assert.equal(w.created, false);
  assert.equal((await w.listRuns()).length, 10);
  await w.close();
  const after = new Database(file, { readonly: true });
  assert.equal(after.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get(), String(SCHEMA_VERSION));
  assert.equal(after.prepare("SELECT value FROM meta WHERE key = 'application'").pluck().get(), 'resnet-sgdr-workspace', 'the writer adds the marker schema 1 lacked');
  const epochRows = after.prepare('SELECT COUNT(*) FROM epochs').pluck().get() as number;
  assert.ok(epochRows > 0);
  assert.equal(after.prepare('SELECT COUNT(*) FROM epochs WHERE train_cpu_seconds IS NULL AND total_cpu_seconds IS NULL').pluck().get(), epochRows,
    'schema 3 adds the CPU-seconds columns, NULL in the epochs written before');
  after.close();
});

test('resuming a run on another engine (e.g. oneDNN after wasm) says so: its later epochs round differently', async () => {
  const s = await openResultsStore(path.join(tmpDir(), 'e.sqlite'));
  const me = workerIdentity();
  const c = await s.claimRun(start('r'), me, { leaseSeconds: 60 });
  assert.ok(c.claimed);
  await s.recordEpoch(c.lease, epoch('r', 1), { epochsCompleted: 1 }, new Uint8Array([1]));
  await s.releaseRun(c.lease);
  const onednn = { ...start('r'), backend: 'onednn', versions: { onednn: '2.6.3 (avx512_core)' } };
  const d = await s.claimRun(onednn, other(me), { leaseSeconds: 60 });
  assert.ok(d.claimed && d.resume?.epoch === 1);
  assert.deepEqual(d.notes, ['run r: resuming on onednn 2.6.3 (avx512_core) a run trained on wasm up to epoch 1; its later epochs round differently from an uninterrupted run']);
  // the run's record keeps what trained its first epochs, and analysis names the mix
  const stored = (await s.getRun('r'))!;
  assert.equal(stored.backend, 'onednn');
  assert.equal(stored.versions.earlierEngines, 'wasm to epoch 1');
  const wasmRun = { ...stored, runId: 's', backend: 'wasm', versions: { convolutions: 'winograd F(4x4,3x3)' } };
  assert.deepEqual(engineNotes([stored, wasmRun, { ...wasmRun, runId: 't' }]), ['p: runs trained on 2 engines (onednn 2.6.3 (avx512_core) after wasm to epoch 1: 1 run; '
    + 'wasm winograd F(4x4,3x3): 2 runs); seconds to target compare engine speeds as well as schedules']);
  assert.deepEqual(engineNotes([wasmRun, { ...wasmRun, runId: 't' }]), []);
  // the same engine again: no note
  await s.releaseRun(d.lease);
  const e = await s.claimRun(onednn, me, { leaseSeconds: 60 });
  assert.ok(e.claimed && e.resume?.epoch === 1);
  assert.deepEqual(e.notes, []);
  await s.close();
});

test('status marks a run whose worker process on this host is gone (kill -9) as stale before its lease expires', async () => {
  const file = path.join(tmpDir(), 'st.sqlite');
  const s = await openResultsStore(file);
  const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!; // a pid that has exited
  const host = workerIdentity().host;
  const c = await s.claimRun(start('r'), { host, pid: dead, owner: `${host}:${dead}:x` }, { leaseSeconds: 600 });
  assert.ok(c.claimed);
  await s.close();
  const text = statusText(await storeStatus(file));
  assert.match(text, new RegExp(`seed 0: 0 epochs finished, worker ${host}:${dead}:x, last heartbeat \\d+ s ago STALE \\(its process on this host is gone: the next experiment here resumes it at once\\)`));
});
