/**
 * Reliability: bad data and bad configuration through the real CLI. Each case must give one clear
 * `error:` line naming the file/option and what is wrong, before any training starts, with a
 * non-zero exit, and must write nothing to the results store (the file is not even created, or an
 * existing one is byte-for-byte unchanged). Also the checks of --protocol-file (src/runs/protocol-file.ts).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { tmpDir } from './helpers';
import { openResultsStore, SCHEMA_VERSION } from '../src/store';
import { loadProtocolFile, parseProtocolObject } from '../src/runs/protocol-file';
import { makeMiniDataset, refreshManifest, runCli, tinyProtocolFile, type CliResult } from './fixtures/reliability/support';

/** One `error:` line (plus at most the usage hint), no stack trace, non-zero exit, nothing trained. */
function assertCleanError(r: CliResult, pattern: RegExp, what: string) {
  assert.notEqual(r.status, 0, `${what}: exit status`);
  assert.equal(r.signal, null, what);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0], /^error: /, `${what}: ${r.stderr}`);
  assert.match(lines[0], pattern, what);
  assert.ok(lines.length === 1 || (lines.length === 2 && lines[1] === '(run with --help for usage)'), `${what}: one error line, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stdout, /epoch|to train|training in/, `${what}: nothing trained`);
}

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

test('bad data via the CLI: missing, truncated, altered, bad label, wrong files: one error naming the file, no store created', () => {
  const base = makeMiniDataset({ train: 200, test: 20 });
  after(() => fs.rmSync(base, { recursive: true, force: true }));
  const copy = () => {
    const d = tmpDir('ws-rel-data-');
    for (const f of fs.readdirSync(base)) fs.copyFileSync(path.join(base, f), path.join(d, f));
    return d;
  };
  const cases: [string, (d: string) => void, (d: string) => RegExp][] = [
    ['missing file', (d) => fs.rmSync(path.join(d, 'test_batch.bin')),
      (d) => new RegExp(`^error: ${d}/test_batch\\.bin: file is missing \\(expected data_batch_1\\.bin, test_batch\\.bin; directory has: data_batch_1\\.bin, manifest\\.json\\)$`)],
    ['truncated batch', (d) => fs.truncateSync(path.join(d, 'data_batch_1.bin'), 3073 * 100 + 7),
      (d) => new RegExp(`^error: ${d}/data_batch_1\\.bin: size is 307307 bytes, expected 614600 \\(truncated or wrong file\\)$`)],
    ['flipped byte', (d) => {
      const f = path.join(d, 'test_batch.bin');
      const b = fs.readFileSync(f);
      b[5000] ^= 0x01;
      fs.writeFileSync(f, b);
    }, (d) => new RegExp(`^error: ${d}/test_batch\\.bin: md5 is [0-9a-f]{32}, expected [0-9a-f]{32} \\(file altered or corrupted\\)$`)],
    ['label byte > 9', (d) => {
      const f = path.join(d, 'data_batch_1.bin');
      const b = fs.readFileSync(f);
      b[3073 * 7] = 12; // record 7's label; the manifest is updated so only the label check can catch it
      fs.writeFileSync(f, b);
      refreshManifest(d, 'data_batch_1.bin');
    }, (d) => new RegExp(`^error: ${d}/data_batch_1\\.bin: record 7 \\(byte offset 21511\\) has label 12, expected 0-9$`)],
    ['directory with the wrong files', (d) => {
      for (const f of fs.readdirSync(d)) fs.rmSync(path.join(d, f));
      fs.writeFileSync(path.join(d, 'cifar-10-python.tar.gz'), 'not extracted');
      fs.writeFileSync(path.join(d, 'readme.html'), '<p>');
    }, (d) => new RegExp(`^error: ${d}/data_batch_1\\.bin: file is missing \\(expected data_batch_1\\.bin, data_batch_2\\.bin, data_batch_3\\.bin, data_batch_4\\.bin, data_batch_5\\.bin, test_batch\\.bin; directory has: cifar-10-python\\.tar\\.gz, readme\\.html\\)$`)],
    ['broken manifest', (d) => fs.writeFileSync(path.join(d, 'manifest.json'), '{"name": "x", '),
      (d) => new RegExp(`^error: ${d}/manifest\\.json: not valid JSON`)],
    ['no such directory', (d) => fs.rmSync(d, { recursive: true }),
      (d) => new RegExp(`^error: --data ${d}: directory does not exist$`)],
  ];
  const out = tmpDir('ws-rel-data-results-');
  for (const [what, spoil, expected] of cases) {
    const d = copy();
    spoil(d);
    const results = path.join(out, `${what.replace(/\W+/g, '-')}.sqlite`);
    const r = runCli(['experiment', '--protocol', 'quick', '--data', d, '--results', results, '--workers', '0']);
    assertCleanError(r, expected(d), what);
    assert.equal(r.stdout, '', `${what}: nothing printed before the error`);
    assert.ok(!fs.existsSync(results), `${what}: results store not created`);
    fs.rmSync(d, { recursive: true, force: true });
  }
  assert.deepEqual(fs.readdirSync(out), [], 'nothing at all written next to the stores');
});

test('bad configuration via the CLI: one-line errors, non-zero exit, no store created', () => {
  const dir = tmpDir('ws-rel-config-');
  const data = makeMiniDataset({ train: 200, test: 20 });
  after(() => fs.rmSync(data, { recursive: true, force: true }));
  const results = path.join(dir, 'results.sqlite');
  const pf = (name: string, o: Record<string, unknown>) => tinyProtocolFile(dir, o, name);
  const cosine = (extra: Record<string, unknown>) => [{ name: 'c', schedule: { kind: 'cosine', lrMax: 0.1, cycleLengthEpochs: 1, ...extra } }];
  const q = ['experiment', '--protocol', 'quick', '--data', data, '--results', results, '--workers', '0'];
  const f = (file: string) => ['experiment', '--protocol-file', file, '--data', data, '--results', results, '--workers', '0'];
  const cases: [string, string[], RegExp][] = [
    ['unknown protocol', ['experiment', '--protocol', 'race-to-58', '--results', results], /^error: unknown protocol "race-to-58"; expected one of race-to-85, full-182, quick$/],
    ['unknown arm', [...q, '--arms', 'step,sgdr'], /^error: unknown arm "sgdr" for protocol quick; expected step, cosine$/],
    ['unknown backend', [...q, '--backend', 'tpu'], /^error: unknown backend "tpu"; expected one of auto, tfjs-node-gpu, tfjs-node, onednn, wasm$/],
    ['unknown schedule', f(pf('exp.json', { arms: [{ name: 'e', schedule: { kind: 'exponential', lr: 0.1 } }] })),
      new RegExp(`^error: ${dir}/exp\\.json: arms\\[0\\]\\.schedule\\.kind must be one of constant, step, cosine, got "exponential"$`)],
    ['negative lr', f(pf('neg.json', { arms: [{ name: 'ok', schedule: { kind: 'constant', lr: 0.1 } }, { name: 'bad', schedule: { kind: 'constant', lr: -0.1 } }] })),
      new RegExp(`^error: ${dir}/neg\\.json: arms\\[1\\]\\.schedule\\.lr must be a number > 0, got -0\\.1$`)],
    ['zero lr', f(pf('zero.json', { arms: cosine({ lrMax: 0 }) })), /zero\.json: arms\[0\]\.schedule\.lrMax must be a number > 0, got 0$/],
    ['lr as a string', f(pf('str.json', { arms: [{ name: 's', schedule: { kind: 'step', lr: '0.1', milestones: [10], gamma: 0.1 } }] })),
      /str\.json: arms\[0\]\.schedule\.lr must be a number > 0, got "0\.1"$/],
    ['zero batch', [...q, '--batch-size', '0'], /^error: --batch-size must be an integer >= 1, got "0"$/],
    ['negative batch', [...q, '--batch-size=-32'], /^error: --batch-size must be an integer >= 1, got "-32"$/],
    ['zero epochs', [...q, '--max-epochs', '0'], /^error: --max-epochs must be an integer >= 1, got "0"$/],
    ['negative epochs in a file', f(pf('ep.json', { maxEpochs: -3 })), /ep\.json: maxEpochs must be an integer >= 1, got -3$/],
    ['target 0', [...q, '--target', '0'], /^error: --target must be a number in \(0, 1\], got "0"$/],
    ['target above 1', [...q, '--target', '1.5'], /^error: --target must be a number in \(0, 1\], got "1\.5"$/],
    ['target in a file', f(pf('tg.json', { target: 85 })), /tg\.json: target must be a number in \(0, 1\], got 85$/],
    ['missing protocol file', f(path.join(dir, 'nope.json')), new RegExp(`^error: ${dir}/nope\\.json: cannot read the protocol file \\(no such file\\)$`)],
    ['both protocol options', ['experiment', '--protocol', 'quick', '--protocol-file', 'x.json', '--results', results], /^error: give --protocol or --protocol-file, not both$/],
  ];
  // a known backend that is not installed (as itself) here
  for (const backend of ['tfjs-node-gpu', 'tfjs-node']) {
    let installedAs: string | null = null;
    try {
      installedAs = (JSON.parse(fs.readFileSync(require.resolve(`@tensorflow/${backend}/package.json`), 'utf8')) as { name: string }).name;
    } catch {
      // not installed
    }
    if (installedAs !== `@tensorflow/${backend}`) {
      cases.push([`backend ${backend} not installed`, [...q, '--backend', backend], new RegExp(`^error: backend ${backend} cannot be used: @tensorflow/${backend} is .*; use --backend wasm or auto$`)]);
    }
  }
  for (const [what, args, expected] of cases) {
    const r = runCli(args);
    assertCleanError(r, expected, what);
    assert.ok(!fs.existsSync(results), `${what}: results store not created`);
  }
  // unwritable results paths
  const blocker = path.join(dir, 'a-file');
  fs.writeFileSync(blocker, 'x');
  const unwritable: [string, RegExp][] = [
    [path.join(blocker, 'results.sqlite'), new RegExp(`^error: ${blocker}/results\\.sqlite: not writable: its folder ${blocker} cannot be written \\((EEXIST|ENOTDIR)\\)$`)],
    [dir, new RegExp(`^error: ${dir}: is a directory, not a results store file$`)],
  ];
  if (process.getuid?.() !== 0) {
    const ro = path.join(dir, 'read-only');
    fs.mkdirSync(ro, { mode: 0o555 });
    unwritable.push([path.join(ro, 'results.sqlite'), /read-only\/results\.sqlite: not writable: its folder .*read-only cannot be written \(EACCES\)$/]);
  }
  for (const [file, expected] of unwritable) {
    const before = fs.readdirSync(dir).sort();
    const r = runCli(['experiment', '--protocol', 'quick', '--data', data, '--results', file, '--workers', '0']);
    assertCleanError(r, expected, `results ${file}`);
    assert.deepEqual(fs.readdirSync(dir).sort(), before, 'nothing created');
  }
});

test('a results store from a newer schema version is refused by experiment and analyze, and left byte-for-byte unchanged', async () => {
  const dir = tmpDir('ws-rel-schema-');
  const data = makeMiniDataset({ train: 200, test: 20 });
  after(() => fs.rmSync(data, { recursive: true, force: true }));
  // as written by this code (WAL), and as a newer version might write it (rollback journal)
  const wal = path.join(dir, 'wal.sqlite');
  await (await openResultsStore(wal)).close();
  const rollback = path.join(dir, 'rollback.sqlite');
  const db0 = new Database(rollback);
  // a newer version of this workspace keeps the application marker (a newer schema_version without it is another program's)
  db0.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('application', 'resnet-sgdr-workspace'); CREATE TABLE runs_v2 (id TEXT); INSERT INTO runs_v2 VALUES ('r')");
  db0.close();
  for (const file of [wal, rollback]) {
    const db = new Database(file);
    db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION + 1));
    db.close();
    const before = { sha: sha(file), files: fs.readdirSync(dir).sort() };
    const expected = new RegExp(`^error: ${file}: schema version ${SCHEMA_VERSION + 1} is newer than this code's ${SCHEMA_VERSION}; update the workspace`);
    assertCleanError(runCli(['experiment', '--protocol', 'quick', '--data', data, '--results', file, '--workers', '0']), expected, `experiment on ${file}`);
    assertCleanError(runCli(['analyze', '--results', file]), expected, `analyze on ${file}`);
    assertCleanError(runCli(['export-csv', '--results', file, '--out', path.join(dir, 'csv')]), expected, `export-csv on ${file}`);
    assert.equal(sha(file), before.sha, `${file} unchanged`);
    // read-only SQLite connections to a WAL database leave its (empty) -wal and -shm files: nothing written
    const sidecars = fs.readdirSync(dir).filter((x) => !before.files.includes(x));
    assert.ok(sidecars.every((x) => x === `${path.basename(file)}-shm` || x === `${path.basename(file)}-wal`), `only SQLite's sidecars, got ${sidecars.join(', ')}`);
    sidecars.filter((x) => x.endsWith('-wal')).forEach((x) => assert.equal(fs.statSync(path.join(dir, x)).size, 0, `${x} is empty`));
    sidecars.forEach((x) => fs.rmSync(path.join(dir, x)));
  }
});

test('a cycle longer than the run is allowed (validation only warns)', () => {
  const dir = tmpDir('ws-rel-cycle-');
  const spec = loadProtocolFile(tinyProtocolFile(dir, { maxEpochs: 2, arms: [{ name: 'long', schedule: { kind: 'cosine', lrMax: 0.1, cycleLengthEpochs: 10 } }] }));
  const { expandProtocol } = require('../src/runs/protocols') as typeof import('../src/runs/protocols');
  const { runs, warnings } = expandProtocol(spec, 'cifar-10-mini', 1000, { batchSize: 32 }); // 90 training images: batch 128 would add a warning
  assert.equal(runs.length, 1);
  assert.deepEqual(warnings, ['long: cycle length 10 epochs is longer than the run (2 epochs); the learning rate never restarts']);
});

test('protocol files: every field checked, errors name the file and the field', () => {
  const ok = {
    name: 'mine', arms: [
      { name: 'c', schedule: { kind: 'cosine', lrMax: 0.1, lrMin: 0.001, cycleLengthEpochs: 2, cycleMult: 2, warmup: 'fastai' } },
      { name: 's', schedule: { kind: 'step', lr: 0.1, milestones: [100, 200], gamma: 0.1 }, description: 'step' },
      { name: 'k', schedule: { kind: 'constant', lr: 0.05 } },
    ], seeds: 2, maxEpochs: 5, target: 0.5, stopAtTarget: true, trainFraction: 0.5, testCount: 100, validationCount: 'tenth', data: 'embedded', notes: ['n'],
  };
  const p = parseProtocolObject(ok, 'my.json');
  assert.equal(p.name, 'mine');
  assert.deepEqual(p.arms[0].schedule, { kind: 'cosine', lrMax: 0.1, lrMin: 0.001, cycleLengthEpochs: 2, cycleMult: 2, warmup: 'fastai' });
  assert.deepEqual(p.arms[2].schedule, { kind: 'constant', lr: 0.05 });
  assert.deepEqual([p.seeds, p.maxEpochs, p.target, p.stopAtTarget, p.trainFraction, p.testCount, p.validationCount, p.data], [2, 5, 0.5, true, 0.5, 100, 'tenth', 'embedded']);
  const minimal = parseProtocolObject({ name: 'm', arms: [{ name: 'a', schedule: { kind: 'cosine', lrMax: 0.1, cycleLengthEpochs: 1 } }], seeds: 1, maxEpochs: 1, target: null }, 'm.json');
  assert.deepEqual(minimal.arms[0].schedule, { kind: 'cosine', lrMax: 0.1, lrMin: 0, cycleLengthEpochs: 1, cycleMult: 1, warmup: null });
  assert.deepEqual([minimal.stopAtTarget, minimal.trainFraction, minimal.validationCount, minimal.testCount, minimal.data], [false, 1, 'tenth', null, 'any']);

  const bad = (patch: (o: any) => void, expected: RegExp) => {
    const o = structuredClone(ok) as any;
    patch(o);
    assert.throws(() => parseProtocolObject(o, 'my.json'), (e: Error) => e.name === 'ConfigError' && expected.test(e.message), String(expected));
  };
  bad((o) => { o.arms[1].schedule.lr = -0.1; }, /^my\.json: arms\[1\]\.schedule\.lr must be a number > 0, got -0\.1$/);
  bad((o) => { o.arms[0].schedule.kind = 'linear'; }, /^my\.json: arms\[0\]\.schedule\.kind must be one of constant, step, cosine, got "linear"$/);
  bad((o) => { delete o.arms[0].schedule.kind; }, /arms\[0\]\.schedule\.kind must be one of constant, step, cosine, got nothing$/);
  bad((o) => { o.arms[0].schedule.lr_max = 1; }, /^my\.json: arms\[0\]\.schedule \(cosine\): unknown field "lr_max" \(allowed: kind, lrMax, lrMin, cycleLengthEpochs, cycleMult, warmup\)$/);
  bad((o) => { o.arms[0].schedule.lrMin = 0.2; }, /arms\[0\]\.schedule\.lrMin must be a number < lrMax \(0\.1\), got 0\.2$/);
  bad((o) => { o.arms[0].schedule.cycleLengthEpochs = 1.5; }, /arms\[0\]\.schedule\.cycleLengthEpochs must be an integer >= 1, got 1\.5$/);
  bad((o) => { o.arms[0].schedule.warmup = 'linear'; }, /arms\[0\]\.schedule\.warmup must be "fastai" or null, got "linear"$/);
  bad((o) => { o.arms[1].schedule.milestones = [200, 100]; }, /arms\[1\]\.schedule\.milestones must be an array of strictly increasing integers >= 1 \(iterations\), got \[200,100\]$/);
  bad((o) => { o.arms[1].schedule.gamma = 0; }, /arms\[1\]\.schedule\.gamma must be a number > 0, got 0$/);
  bad((o) => { o.arms[2].schedule.lr = null; }, /arms\[2\]\.schedule\.lr must be a number > 0, got null$/);
  bad((o) => { o.arms[2].name = 'c'; }, /^my\.json: arms\[2\]\.name "c" is used by an earlier arm; arm names must be unique$/);
  bad((o) => { o.arms[2].name = 'a/b'; }, /arms\[2\]\.name must be a non-empty string of letters, digits/);
  bad((o) => { o.arms = []; }, /^my\.json: arms must be a non-empty array, got \[\]$/);
  bad((o) => { o.name = 'quick'; }, /^my\.json: name "quick" is a built-in protocol; choose another name$/);
  bad((o) => { delete o.name; }, /^my\.json: name must be a non-empty string of letters/);
  bad((o) => { o.seeds = 0; }, /^my\.json: seeds must be an integer >= 1, got 0$/);
  bad((o) => { o.maxEpochs = 2.5; }, /^my\.json: maxEpochs must be an integer >= 1, got 2\.5$/);
  bad((o) => { delete o.target; }, /^my\.json: target must be a number in \(0, 1\] or null, got nothing$/);
  bad((o) => { o.target = 0; }, /^my\.json: target must be a number in \(0, 1\], got 0$/);
  bad((o) => { o.target = null; }, /^my\.json: target must be a number in \(0, 1\] when stopAtTarget is true, got null$/);
  bad((o) => { o.stopAtTarget = 'yes'; }, /^my\.json: stopAtTarget must be true or false, got "yes"$/);
  bad((o) => { o.trainFraction = 1.5; }, /^my\.json: trainFraction must be a number in \(0, 1\], got 1\.5$/);
  bad((o) => { o.testCount = -1; }, /^my\.json: testCount must be an integer >= 1, got -1$/);
  bad((o) => { o.data = 'full'; }, /^my\.json: data must be "any" or "embedded", got "full"$/);
  bad((o) => { o.epochs = 3; }, /^my\.json: unknown field "epochs" \(allowed: name, description, arms/);
  assert.throws(() => parseProtocolObject([1], 'a.json'), /^ConfigError: a\.json: the top level must be a JSON object, got \[1\]$/);

  const dir = tmpDir('ws-rel-pf-');
  const notJson = path.join(dir, 'not.json');
  fs.writeFileSync(notJson, '{ "name": "x", }');
  assert.throws(() => loadProtocolFile(notJson), new RegExp(`^ConfigError: ${notJson}: not valid JSON \\(`));
});
