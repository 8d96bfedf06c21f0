/**
 * Reliability of the results store and of exports, with real processes and files:
 * - 4 writer processes (test/fixtures/reliability/writer.js) create and write one store at once
 *   (WAL, busy timeout): 1,000 epoch rows, none lost or duplicated, while this process reads;
 * - exports killed half-way (SIGKILL) leave no partial file under the final name: CSV export
 *   (src/store/csv.ts, temp + fsync + rename) and chart export (writeFileAtomic in
 *   src/analysis/charts/export.ts), both with a deterministic kill after half the bytes of the
 *   temporary file (test/fixtures/reliability/export-kill.js) and with a kill from outside while a
 *   large export is being written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { tmpDir } from './helpers';
import { openResultsStore, workerIdentity } from '../src/store';
import { writeHandRun } from './fixtures/hand-runs';
import { exportCsv, writeCsvAtomic } from '../src/store/csv';
import { CLI, DIST_SRC, FIXTURES, readStore, sleep } from './fixtures/reliability/support';

const WRITERS = 4;
const RUNS = 5;
const EPOCHS = 50; // 4 x 5 x 50 = 1,000 epoch rows

test('4 writer processes on one new store at once: 1,000 epoch rows, none lost or duplicated, readers never blocked', async () => {
  const dir = tmpDir('ws-rel-conc-');
  const file = path.join(dir, 'results.sqlite');
  const go = path.join(dir, 'go');
  const outputs: string[] = [];
  const exits = Array.from({ length: WRITERS }, (_, w) => new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [path.join(FIXTURES, 'writer.js'), DIST_SRC, file, String(w), String(RUNS), String(EPOCHS), go], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => { outputs[w] = out; resolve(code); });
  }));
  await sleep(1500); // all four have loaded and wait for the signal
  fs.writeFileSync(go, '');
  // read while they write: counts only grow, no SQLITE_BUSY for a reader
  let last = 0;
  let reads = 0;
  let finished = false;
  const all = Promise.all(exits).then((codes) => { finished = true; return codes; });
  while (!finished) {
    if (fs.existsSync(file)) {
      try {
        const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 30000 });
        const n = (db.prepare("SELECT name FROM sqlite_master WHERE name = 'epochs'").get()
          ? db.prepare('SELECT COUNT(*) FROM epochs').pluck().get() : 0) as number;
        db.close();
        assert.ok(n >= last, `epoch rows went from ${last} to ${n}`);
        last = n;
        reads++;
      } catch (e) {
        // the store may be mid-creation (no WAL yet) for the first milliseconds only
        if (!/database is locked|no such table|file is not a database/.test((e as Error).message) || last > 0) throw e;
      }
    }
    await sleep(20);
  }
  const codes = await all;
  assert.deepEqual(codes, [0, 0, 0, 0], outputs.join('\n'));
  outputs.forEach((o, w) => assert.deepEqual(JSON.parse(o.trim()), { writer: w, written: RUNS * EPOCHS }));
  assert.ok(reads > 0);

  const s = readStore(file);
  assert.equal(s.integrity, 'ok');
  assert.equal(s.epochs.length, WRITERS * RUNS * EPOCHS);
  const expected = new Set<string>();
  for (let w = 0; w < WRITERS; w++) for (let r = 0; r < RUNS; r++) for (let e = 1; e <= EPOCHS; e++) expected.add(`writer-${w}/run-${r}|${e}|${w * 1e6 + r * 1e3 + e}`);
  const got = s.epochs.map((e) => `${e.run_id}|${e.epoch}|${e.iteration}`);
  assert.equal(new Set(got).size, got.length, 'no duplicates');
  assert.deepEqual(new Set(got), expected, 'every row written, with the writer\'s values');
  assert.equal(s.runs.length, WRITERS * RUNS);
  for (const r of s.runs) {
    assert.equal(r.status, 'completed');
    assert.equal(r.epochs_completed, EPOCHS);
    assert.equal(r.attempts, 1);
  }
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
});

/** A store with `runs` runs of `epochs` epochs, each run's configuration padded with `pad` characters. */
async function makeStore(file: string, runs: number, epochs: number, pad = 0, status: 'completed' | 'running' = 'completed') {
  const s = await openResultsStore(file);
  for (let r = 0; r < runs; r++) {
    const runId = `p/a/seed-${r}/h`;
    const rows: Parameters<typeof writeHandRun>[2] = [];
    for (let e = 1; e <= epochs; e++) {
      rows.push([{ runId, epoch: e, iteration: e, learningRate: 0.1, trainLoss: 1, trainAccuracy: 0.5, validationLoss: 1, validationAccuracy: 0.5, testLoss: 1, testAccuracy: 0.5, trainSeconds: e, totalSeconds: e, trainCpuSeconds: e, totalCpuSeconds: e }, { epochsCompleted: e }]);
    }
    await writeHandRun(s, { runId, protocol: 'p', arm: 'a', seed: r, config: { r, pad: 'x'.repeat(pad), quote: 'say "hi", twice' }, configHash: 'h', target: 0.5, backend: 'wasm', versions: {}, codeVersion: 'c' }, rows, status);
  }
  await s.close();
}

const exportKill = (...args: string[]) => spawnSync(process.execPath, [path.join(FIXTURES, 'export-kill.js'), DIST_SRC, ...args], { encoding: 'utf8', timeout: 120000 });
const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => /tmp/.test(f));

test('CSV export killed half-way through a file: the final name holds the previous complete export or nothing', async () => {
  const dir = tmpDir('ws-rel-csv-');
  const file = path.join(dir, 'results.sqlite');
  await makeStore(file, 3, 20, 0, 'running');
  const out = path.join(dir, 'csv');
  // first export: complete
  const [runsCsv, epochsCsv] = await exportCsv(file, out);
  const before = { runs: fs.readFileSync(runsCsv, 'utf8'), epochs: fs.readFileSync(epochsCsv, 'utf8') };
  assert.equal(before.epochs.trim().split('\n').length, 61);
  // more results, then an export that is killed while writing epochs.csv
  const s = await openResultsStore(file);
  const claim = await s.claimRun({ runId: 'p/a/seed-0/h', protocol: 'p', arm: 'a', seed: 0, config: {}, configHash: 'h', target: 0.5, backend: 'wasm', versions: {}, codeVersion: 'c' }, workerIdentity(), { leaseSeconds: 60 });
  assert.ok(claim.claimed);
  // no checkpoint: the claim restarts the run; write its 20 epochs again and a 21st
  for (let e = 1; e <= 21; e++) {
    await s.recordEpoch(claim.lease, { runId: 'p/a/seed-0/h', epoch: e, iteration: e, learningRate: 0.1, trainLoss: 1, trainAccuracy: 0.5, validationLoss: 1, validationAccuracy: 0.5, testLoss: 1, testAccuracy: 0.5, trainSeconds: e, totalSeconds: e, trainCpuSeconds: e, totalCpuSeconds: e }, { epochsCompleted: e }, null);
  }
  await s.close();
  const killed = exportKill('csv', file, out, 'epochs.csv');
  assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
  assert.equal(fs.readFileSync(epochsCsv, 'utf8'), before.epochs, 'epochs.csv is still the previous, complete export');
  const partial = leftovers(out);
  assert.equal(partial.length, 1, `one temporary file left, got ${partial.join(', ')}`);
  assert.ok(fs.statSync(path.join(out, partial[0])).size < before.epochs.length, 'the temporary file is the half-written one');
  // killed on the very first export: no file at all under the final name
  const fresh = path.join(dir, 'fresh');
  const first = exportKill('csv', file, fresh, 'runs.csv');
  assert.equal(first.signal, 'SIGKILL');
  assert.deepEqual(fs.readdirSync(fresh).filter((f) => f.endsWith('.csv')), []);
  // the next export succeeds and is complete
  await exportCsv(file, out);
  assert.equal(fs.readFileSync(epochsCsv, 'utf8').trim().split('\n').length, 62);
});

test('CSV export: a failing write leaves no temporary file and keeps the previous file', () => {
  const dir = tmpDir('ws-rel-csverr-');
  const target = path.join(dir, 'runs.csv');
  fs.mkdirSync(target); // rename onto a directory fails
  assert.throws(() => writeCsvAtomic(target, [{ a: 1 }]), /EISDIR|EEXIST|ENOTEMPTY|EPERM/);
  assert.deepEqual(fs.readdirSync(dir), ['runs.csv']);
  assert.ok(fs.statSync(target).isDirectory());
});

test('large CSV export (CLI export-csv) killed from outside while its temporary file is written: never a partial file under the final name', async () => {
  const dir = tmpDir('ws-rel-csvbig-');
  const file = path.join(dir, 'results.sqlite');
  await makeStore(file, 40, 1, 2_000_000); // runs.csv ~ 80 MB
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  let midWrite = 0;
  for (let attempt = 0; attempt < 3 && midWrite === 0; attempt++) {
    const child = spawn(process.execPath, [CLI, 'export-csv', '--results', file, '--out', out], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
    const watcher = fs.watch(out, (_event, name) => {
      if (name && /^runs\.csv\.tmp/.test(String(name))) {
        child.kill('SIGKILL');
        watcher.close();
      }
    });
    const sig = await exited;
    watcher.close();
    const tmp = leftovers(out);
    if (sig === 'SIGKILL' && tmp.length > 0) midWrite++;
    assert.ok(!fs.existsSync(path.join(out, 'runs.csv')), 'no runs.csv under the final name after the kill');
    tmp.forEach((f) => fs.rmSync(path.join(out, f)));
  }
  assert.ok(midWrite > 0, 'the export was killed while writing its temporary file at least once');
  fs.rmSync(file);
});

test('chart export killed half-way: HTML figure (exportFigure) and a large writeFileAtomic leave no partial file under the final name', async () => {
  const dir = tmpDir('ws-rel-chart-');
  // deterministic: the temporary HTML file gets half its bytes, then SIGKILL
  const base = path.join(dir, 'figure');
  const html = exportKill('html', base);
  assert.equal(html.signal, 'SIGKILL', html.stdout + html.stderr);
  assert.ok(!fs.existsSync(`${base}.html`));
  const tmp = fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));
  assert.equal(tmp.length, 1, `the half-written temporary file, got ${fs.readdirSync(dir).join(', ')}`);
  assert.match(tmp[0], /^\.figure\.html\.\d+\.[0-9a-f]+\.tmp$/);

  // from outside: a 200 MB write (with fsync) killed while its temporary file exists; an older file stays intact
  const target = path.join(dir, 'big.bin');
  fs.writeFileSync(target, 'previous complete content');
  const child = spawn(process.execPath, [path.join(FIXTURES, 'export-kill.js'), DIST_SRC, 'atomic', target, '200'], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
  let sawTmp = false;
  const watcher = fs.watch(dir, (_e, name) => {
    if (name && /^\.big\.bin\..*\.tmp$/.test(String(name))) {
      sawTmp = true;
      child.kill('SIGKILL');
      watcher.close();
    }
  });
  const sig = await exited;
  watcher.close();
  assert.ok(sawTmp);
  assert.equal(sig, 'SIGKILL');
  assert.equal(fs.readFileSync(target, 'utf8'), 'previous complete content');
  fs.rmSync(dir, { recursive: true, force: true });
});
