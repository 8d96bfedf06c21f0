/**
 * Reliability, issue 13 (hostile inputs), with the CLI as a real process on tiny real data:
 * a) another program's SQLite database (written by Python's sqlite3) as --results for experiment,
 *    analyze, export-csv, report, export-charts and status: one line naming the file, non-zero exit,
 *    md5 identical, no -wal/-shm left;
 * b) a real store in a read-only folder, analysed by a non-root user (setpriv --reuid=65534 when
 *    the tests run as root): analyze, export-csv, status work and leave nothing beside the file;
 *    experiment on it fails before training (as that user, and as root on a 0444 file);
 * c) limits (seeds, epochs, workers, batch size, counts) and strict integers: one-line errors before
 *    anything is allocated, in the CLI, protocol files and the runProtocol API; no silent clamping
 *    (validation/test counts larger than the data, a 0- or 1-image epoch, a batch larger than the data);
 * d) export-csv of an empty store writes header rows; an output path that is a file is named.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { ROOT, tmpDir } from './helpers';
import { CLI, makeMiniDataset, runCli, tinyArgs, tinyProtocolFile, type CliResult } from './fixtures/reliability/support';
import { openResultsStore } from '../src/store';
import { expandProtocol, getProtocol } from '../src/runs/protocols';
import { runProtocol } from '../src/runs/runner';
import { LIMITS, validateRunConfig } from '../src/train/config';

const md5 = (file: string) => crypto.createHash('md5').update(fs.readFileSync(file)).digest('hex');
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const PYTHON = '/usr/bin/python3';

/** One `error:` line (plus at most the usage hint), non-zero exit, nothing trained. */
function assertOneLineError(r: CliResult, pattern: RegExp, what: string): void {
  assert.notEqual(r.status, 0, `${what}: exit status (stdout: ${r.stdout}, stderr: ${r.stderr})`);
  assert.equal(r.signal, null, `${what}: killed (a hang?)`);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0], /^error: /, `${what}: ${r.stderr}`);
  assert.match(lines[0], pattern, `${what}: ${r.stderr}`);
  assert.ok(lines.length === 1 || (lines.length === 2 && lines[1] === '(run with --help for usage)'), `${what}: one error line, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stdout, /epoch \d|training in/, `${what}: nothing trained`);
}

/** A database of another program, written by Python's sqlite3 module (rollback journal, no WAL). */
function foreignDatabase(file: string, sql: string): void {
  const r = spawnSync(PYTHON, ['-c', 'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.executescript(sys.argv[2])\nc.commit()\nc.close()', file, sql], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${PYTHON} with sqlite3 is needed to write a foreign database: ${r.error?.message ?? r.stderr}`);
}

const dir = tmpDir('ws-hostile-');
fs.chmodSync(dir, 0o755); // the non-root user of (b) reads the store copy made from here
const data = makeMiniDataset({ train: 1000, test: 100 });
fs.chmodSync(data, 0o755);
after(() => {
  for (const d of [dir, data]) {
    spawnSync('chmod', ['-R', 'u+rwX', d]);
    fs.rmSync(d, { recursive: true, force: true });
  }
});
const protocolFile = tinyProtocolFile(dir, { name: 'hostile', maxEpochs: 1 });

describe('a) another program\'s SQLite database as --results', () => {
  const variants: [string, string][] = [
    ['notes.db', "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me');"],
    ['own-runs.db', "CREATE TABLE runs (id INTEGER, name TEXT); CREATE TABLE epochs (n INTEGER); INSERT INTO runs VALUES (1, 'theirs');"],
  ];
  for (const [name, sql] of variants) {
    it(`${name}: every command refuses it with one line naming the file; md5 identical, no -wal/-shm left`, () => {
      const home = tmpDir('ws-hostile-foreign-');
      const out = tmpDir('ws-hostile-foreign-out-');
      after(() => { fs.rmSync(home, { recursive: true, force: true }); fs.rmSync(out, { recursive: true, force: true }); });
      const db = path.join(home, name);
      foreignDatabase(db, sql);
      const before = md5(db);
      const commands: [string, string[]][] = [
        ['experiment', tinyArgs(protocolFile, data, db, ['--workers', '0'])],
        ['analyze', ['analyze', '--results', db]],
        ['export-csv', ['export-csv', '--results', db, '--out', path.join(out, 'csv')]],
        ['report', ['report', '--results', db, '--out', path.join(out, 'report', 'report.md'), '--formats', 'svg']],
        ['export-charts', ['export-charts', '--results', db, '--out', path.join(out, 'charts'), '--formats', 'svg']],
        ['status', ['status', '--results', db]],
      ];
      for (const [what, args] of commands) {
        const r = runCli(args, { timeoutMs: 60000 });
        assertOneLineError(r, new RegExp(`^error: ${esc(db)}: .*not a results store`), `${what} on ${name}`);
        assert.equal(md5(db), before, `${what}: ${name} byte-identical`);
        assert.deepEqual(fs.readdirSync(home), [name], `${what}: nothing beside ${name} (no -wal, -shm or journal)`);
      }
      // the other program still reads its data (independently of the workspace: Python's sqlite3)
      const check = spawnSync(PYTHON, ['-c', 'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nprint(c.execute("PRAGMA journal_mode").fetchone()[0], c.execute("PRAGMA integrity_check").fetchone()[0])', db], { encoding: 'utf8' });
      assert.equal(check.stdout.trim(), 'delete ok', 'still in rollback-journal mode (never switched to WAL), intact');
    });
  }
});

describe('b) a store in a read-only folder, read by a non-root user', () => {
  const root = process.getuid?.() === 0;
  const NOBODY = 65534;
  /** The CLI as a non-root user: uid/gid 65534 through setpriv when root, else as this (non-root) user. */
  const asUser = (args: string[]): CliResult => {
    const argv = root ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, CLI, ...args] : [process.execPath, CLI, ...args];
    const r = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, encoding: 'utf8', timeout: 90000, env: { ...process.env, HOME: '/tmp' } });
    return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
  };
  const roDir = path.join(dir, 'archive');
  const store = path.join(roDir, 'results.sqlite');
  let storeMd5 = '';
  let runs = 0;
  let epochs = 0;

  before(() => {
    const made = path.join(dir, 'made.sqlite');
    const r = runCli(tinyArgs(protocolFile, data, made, ['--workers', '0']));
    assert.equal(r.status, 0, `a real small store: ${r.stdout}${r.stderr}`);
    fs.mkdirSync(roDir);
    fs.copyFileSync(made, store);
    fs.chmodSync(store, 0o644);
    fs.chmodSync(roDir, 0o555);
    storeMd5 = md5(store);
    // counted on the original (a read-only SQLite connection to a WAL database leaves -wal/-shm beside it)
    const db = new Database(made, { readonly: true, fileMustExist: true });
    runs = (db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n;
    epochs = (db.prepare('SELECT count(*) AS n FROM epochs').get() as { n: number }).n;
    db.close();
    assert.ok(runs === 1 && epochs === 1, `one run of one epoch, got ${runs} runs, ${epochs} epochs`);
    if (root) {
      const access = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'test', '-r', CLI], { encoding: 'utf8' });
      assert.equal(access.status, 0, `uid ${NOBODY} must be able to read ${CLI} (setpriv from util-linux; the project folder readable by others): ${access.stderr}`);
    }
  });

  const unchanged = (what: string) => {
    assert.deepEqual(fs.readdirSync(roDir), ['results.sqlite'], `${what}: nothing left beside the store`);
    assert.equal(md5(store), storeMd5, `${what}: store byte-identical`);
  };

  it('analyze, export-csv (to a writable folder) and status work and leave nothing beside the file', () => {
    const a = asUser(['analyze', '--results', store]);
    assert.equal(a.status, 0, a.stdout + a.stderr);
    assert.match(a.stdout, new RegExp(`results: ${esc(store)}`));
    assert.match(a.stdout, /cosine/, 'the arm is in the table');
    unchanged('analyze');

    const out = tmpDir('ws-hostile-csv-');
    after(() => fs.rmSync(out, { recursive: true, force: true }));
    if (root) fs.chownSync(out, NOBODY, NOBODY);
    const e = asUser(['export-csv', '--results', store, '--out', out]);
    assert.equal(e.status, 0, e.stdout + e.stderr);
    const lines = (f: string) => fs.readFileSync(path.join(out, f), 'utf8').trim().split('\n');
    assert.equal(lines('runs.csv').length, 1 + runs, 'runs.csv: header and one row per run (counted with SQLite directly)');
    assert.equal(lines('epochs.csv').length, 1 + epochs, 'epochs.csv: header and one row per epoch');
    unchanged('export-csv');

    const s = asUser(['status', '--results', store]);
    assert.equal(s.status, 0, s.stdout + s.stderr);
    assert.match(s.stdout, /hostile/);
    unchanged('status');
  });

  it('experiment on it fails before training: as the non-root user, and as root on a 0444 file', () => {
    const r = asUser(tinyArgs(protocolFile, data, store, ['--workers', '0']));
    assertOneLineError(r, new RegExp(esc(store)), 'experiment by a non-root user on a read-only folder');
    unchanged('experiment (non-root)');

    const rwDir = tmpDir('ws-hostile-0444-');
    after(() => fs.rmSync(rwDir, { recursive: true, force: true }));
    const file = path.join(rwDir, 'results.sqlite');
    fs.copyFileSync(store, file);
    fs.chmodSync(file, 0o444);
    const r2 = runCli(tinyArgs(protocolFile, data, file, ['--workers', '0']));
    assertOneLineError(r2, new RegExp(esc(file)), `experiment (uid ${process.getuid?.()}) on a 0444 store file`);
    assert.equal(md5(file), storeMd5, '0444 store byte-identical');
    assert.deepEqual(fs.readdirSync(rwDir), ['results.sqlite'], 'nothing left beside the 0444 store');
  });
});

describe('c) limits and no silent clamping', () => {
  const results = path.join(dir, 'limits.sqlite');
  const q = ['experiment', '--protocol', 'quick', '--results', results, '--workers', '0'];
  const pf = (name: string, o: Record<string, unknown>) => tinyProtocolFile(dir, { name: name.replace(/\.json$/, ''), ...o }, name);
  const f = (file: string, extra: string[] = []) => tinyArgs(file, data, results, ['--workers', '0', ...extra]);

  it('CLI options: upper bounds, digits only, negative values and empty arm lists give one whole line each, before any store is created', () => {
    const cases: [string, string[], RegExp][] = [
      ['--seeds 1e9', [...q, '--seeds', '1000000000'], /^error: --seeds must be at most 10000 \(a real study never needs more\), got "1000000000"$/],
      ['--max-epochs', [...q, '--max-epochs', '100001'], /^error: --max-epochs must be at most 100000 .*got "100001"$/],
      ['--workers', [...q, '--workers', '1025'], /^error: --workers must be at most 1024 .*got "1025"$/],
      ['--batch-size', [...q, '--batch-size', '100000'], /^error: --batch-size must be at most 65536 .*got "100000"$/],
      ['--seeds 0x2', [...q, '--seeds', '0x2'], /^error: --seeds must be an integer >= 1 written in decimal digits only, got "0x2"$/],
      ['--seeds 1e3', [...q, '--seeds', '1e3'], /^error: --seeds must be an integer >= 1 written in decimal digits only, got "1e3"$/],
      ['--seeds " 2"', [...q, '--seeds', ' 2'], /^error: --seeds must be an integer >= 1 written in decimal digits only, got " 2"$/],
      ['--workers ""', [...q, '--workers', ''], /^error: --workers must be an integer >= 0 written in decimal digits only, got ""$/],
      ['--seeds -1', [...q, '--seeds', '-1'], /^error: --seeds must be an integer >= 1, got "-1"$/],
      ['--target 0x1', [...q, '--target', '0x1'], /^error: --target must be a number in \(0, 1\], got "0x1"$/],
      ['--fraction -0.5', [...q, '--fraction', '-0.5'], /^error: --fraction must be a number in \(0, 1\], got "-0\.5"$/],
      ['--arms ,', [...q, '--arms', ','], /^error: --arms "," names no arm; give a comma-separated list such as step,cosine$/],
      // Node's "ambiguous" message is kept whole, hint included
      ['--results -x', ['analyze', '--results', '-x'], /^error: Option '--results' argument is ambiguous\. .*use '--results=-XYZ'\.$/],
    ];
    for (const [what, args, expected] of cases) {
      const r = runCli(args, { timeoutMs: 30000 });
      assertOneLineError(r, expected, what);
      assert.equal(r.stdout, '', `${what}: nothing printed before the error`);
      assert.ok(!fs.existsSync(results), `${what}: no store created`);
    }
  });

  it('protocol files: "seeds": 1e9 and other bounds fail fast with the file and field named', () => {
    const many = Array.from({ length: LIMITS.arms + 1 }, (_, i) => ({ name: `a${i}`, schedule: { kind: 'constant', lr: 0.1 } }));
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['seeds.json', { seeds: 1e9 }, /seeds\.json: seeds must be at most 10000 \(a real study never needs more\), got 1000000000$/],
      ['epochs.json', { maxEpochs: 1e9 }, /epochs\.json: maxEpochs must be at most 100000 .*got 1000000000$/],
      ['cycle.json', { arms: [{ name: 'c', schedule: { kind: 'cosine', lrMax: 0.1, cycleLengthEpochs: 1e7 } }] }, /cycle\.json: arms\[0\]\.schedule\.cycleLengthEpochs must be at most 100000 .*got 10000000$/],
      ['vcount.json', { validationCount: 1e9 }, /vcount\.json: validationCount must be at most 1000000 .*got 1000000000$/],
      ['tcount.json', { testCount: 1e9 }, /tcount\.json: testCount must be at most 1000000 .*got 1000000000$/],
      ['arms.json', { arms: many }, /arms\.json: arms must be an array of at most 100 arms, got "101 arms"$/],
      ['runs.json', { arms: many.slice(0, 20), seeds: 10000 }, /runs\.json: seeds must be at most 5000 with 20 arms \(100000 runs in all\), got 10000$/],
    ];
    for (const [name, o, expected] of cases) {
      const r = runCli(f(pf(name, o)), { timeoutMs: 30000 });
      assertOneLineError(r, expected, name);
      assert.ok(!fs.existsSync(results), `${name}: no store created`);
    }
  });

  it('the runProtocol API and expandProtocol / validateRunConfig check the same bounds before allocating', async () => {
    const quick = getProtocol('quick');
    assert.throws(() => expandProtocol(quick, 'cifar-10', 50000, { seeds: 1e9 }), /^ConfigError: seeds must be at most 10000/);
    assert.throws(() => expandProtocol(quick, 'cifar-10', 50000, { seeds: 2.5 }), /^ConfigError: seeds must be an integer >= 1, got 2\.5$/);
    assert.throws(() => expandProtocol(quick, 'cifar-10', 50000, { arms: [] }), /^ConfigError: the arm list names no arm; expected some of step, cosine$/);
    assert.throws(() => expandProtocol(quick, 'cifar-10', 50000, { maxEpochs: 1e9 }), /^ConfigError: maxEpochs must be at most 100000, got 1000000000$/);
    assert.throws(() => expandProtocol(quick, 'cifar-10', 50000, { batchSize: 1e6 }), /^ConfigError: batchSize must be at most 65536, got 1000000$/);
    const [c] = expandProtocol(quick, 'cifar-10', 50000, { seeds: 1 }).runs;
    assert.throws(() => validateRunConfig({ ...c, seed: 1e9 }), /seed must be less than 10000, got 1000000000/);
    assert.throws(() => validateRunConfig({ ...c, data: { ...c.data, testCount: 1e12 } }), /data\.testCount must be at most 1000000, got 1000000000000/);
    const file = path.join(dir, 'api.sqlite');
    await assert.rejects(runProtocol({ protocol: 'quick', overrides: { seeds: 1e9 }, results: file, workers: 0, log: () => undefined }), /seeds must be at most 10000/);
    assert.ok(!fs.existsSync(file), 'no store created by the API either');
  });

  it('counts larger than the data and degenerate epochs are errors naming the numbers; nothing is trained', () => {
    // the mini dataset: 1,000 training-file images (100 for validation, a tenth), 100 test images
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['validation.json', { validationCount: 1000 }, /validation\.json: validationCount 1000 must be less than the 1000 training-file images of dataset cifar-10-mini$/],
      ['fraction0.json', { trainFraction: 1e-300 }, /trainFraction 1e-300 leaves 0 training images .*at least 2 are needed$/],
      // 900 training images x 0.0015 = 1.35 -> 1 image
      ['fraction1.json', { trainFraction: 0.0015 }, /fraction1\.json: trainFraction 0\.0015 leaves 1 training image \(of 900 after 100 for validation, dataset cifar-10-mini\); at least 2 are needed$/],
    ];
    for (const [name, o, expected] of cases) {
      const r = runCli(f(pf(name, o)), { timeoutMs: 60000 });
      assertOneLineError(r, expected, name);
      assert.ok(!fs.existsSync(results), `${name}: no store created`);
    }
    // more test images than exist: an error naming both numbers (before planning when the runner passes
    // the test file's size to expandProtocol, else when the run's data is prepared); never a silent clamp
    const tc = path.join(dir, 'testcount.sqlite');
    const r = runCli(tinyArgs(pf('testcount.json', { testCount: 99999 }), data, tc, ['--workers', '0']), { timeoutMs: 60000 });
    assert.notEqual(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /testCount 99999 is larger than the 100 test images of dataset cifar-10-mini/);
    assert.doesNotMatch(r.stdout, /epoch \d/, 'nothing trained');
    if (fs.existsSync(tc)) {
      const db = new Database(tc, { readonly: true });
      assert.equal(db.prepare('SELECT count(*) AS n FROM epochs').pluck().get(), 0, 'no epoch recorded');
      db.close();
    }
  });

  it('adapted counts and a batch larger than the data are `warning:` lines, never silent', () => {
    const rv = path.join(dir, 'warn.sqlite');
    // race-to-85 asks for 5,000 validation images (full set); on 1,000 training-file images it uses 100
    const r = runCli(['experiment', '--protocol', 'race-to-85', '--data', data, '--arms', 'step', '--seeds', '1', '--max-epochs', '1',
      '--fraction', '0.05', '--batch-size', '1000', '--results', rv, '--workers', '0'], { timeoutMs: 120000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^warning: validationCount 5000 of protocol race-to-85 is meant for the full set \(50000 training-file images\); using 100, a tenth of the 1000 of dataset cifar-10-mini$/m);
    // 900 x 0.05 = 45 training images
    assert.match(r.stdout, /^warning: batchSize 1000 is larger than the 45 training images: every epoch is one batch of 45$/m);
    const db = new Database(rv, { readonly: true });
    const row = db.prepare('SELECT config_json, (SELECT iteration FROM epochs) AS iteration FROM runs').get() as { config_json: string; iteration: number };
    db.close();
    const config = JSON.parse(row.config_json) as { data: { validationCount: number }; batchSize: number };
    assert.equal(config.data.validationCount, 100, 'the stored configuration says what was used');
    assert.equal(row.iteration, 1, 'one batch in the epoch');
  });
});

describe('d) exports: header rows of an empty store; output paths that are files', () => {
  it('export-csv of an empty store writes the header rows of a non-empty export', async () => {
    const empty = path.join(dir, 'empty.sqlite');
    await (await openResultsStore(empty, { log: () => undefined })).close();
    const out = path.join(dir, 'empty-csv');
    const r = runCli(['export-csv', '--results', empty, '--out', out]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    // a non-empty export (the store of a real tiny run) for the expected headers
    const full = path.join(dir, 'full.sqlite');
    assert.equal(runCli(tinyArgs(protocolFile, data, full, ['--workers', '0'])).status, 0);
    const fullOut = path.join(dir, 'full-csv');
    assert.equal(runCli(['export-csv', '--results', full, '--out', fullOut]).status, 0);
    for (const name of ['runs.csv', 'epochs.csv']) {
      const text = fs.readFileSync(path.join(out, name), 'utf8');
      const header = fs.readFileSync(path.join(fullOut, name), 'utf8').split('\n')[0];
      assert.ok(header.split(',').length > 5, `${name}: a real header (${header})`);
      assert.equal(text.trim(), header, `${name}: the header row only`);
    }
  });

  it('an output path that is a file: one line naming it, non-zero exit', () => {
    const store = path.join(dir, 'made.sqlite'); // from (b), a real store with one run
    const blocker = path.join(dir, 'i-am-a-file');
    fs.writeFileSync(blocker, 'x');
    const cases: [string, string[]][] = [
      ['export-csv --out FILE', ['export-csv', '--results', store, '--out', blocker]],
      ['report --out FILE/report.md', ['report', '--results', store, '--out', path.join(blocker, 'report.md'), '--formats', 'svg']],
    ];
    for (const [what, args] of cases) {
      const r = runCli(args, { timeoutMs: 120000 });
      assertOneLineError(r, new RegExp(esc(blocker)), what);
      assert.equal(fs.readFileSync(blocker, 'utf8'), 'x', `${what}: the file is untouched`);
    }
  });
});
