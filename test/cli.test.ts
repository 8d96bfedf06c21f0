import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openResultsStore } from '../src/store';
import { ROOT, autoBackend, tmpDir } from './helpers';

const CLI = path.join(ROOT, 'dist', 'cli.js');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300000 });

test('wrong flags, unknown protocols and backends: one-line error, non-zero exit, nothing written', () => {
  const dir = tmpDir();
  const results = path.join(dir, 'r.sqlite');
  const cases: [string[], RegExp][] = [
    [['experiment', '--protocol', 'nope', '--results', results], /^error: unknown protocol "nope"; expected one of race-to-85, full-182, quick/],
    [['experiment', '--protocol', 'quick', '--backend', 'gpu9', '--results', results], /^error: unknown backend "gpu9"; expected one of/],
    [['experiment', '--protocol', 'quick', '--frobnicate', '--results', results], /^error: Unknown option '--frobnicate'/],
    [['experiment', '--protocol', 'quick', '--seeds', '0', '--results', results], /^error: --seeds must be an integer >= 1, got "0"/],
    [['experiment', '--protocol', 'quick', '--target', '1.5', '--results', results], /^error: --target must be a number in \(0, 1\], got "1.5"/],
    [['experiment', '--protocol', 'quick', '--arms', 'step,linear', '--results', results], /^error: unknown arm "linear" for protocol quick; expected step, cosine/],
    [['experiment', '--results', results], /^error: experiment needs --protocol/],
    [['launch'], /^error: unknown command "launch"/],
  ];
  for (const [args, pattern] of cases) {
    const r = run(args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, pattern, args.join(' '));
    assert.equal(r.stderr.trim().split('\n')[0].startsWith('error: '), true);
    assert.equal(fs.existsSync(results), false, `nothing written for ${args.join(' ')}`);
  }
  assert.match(run(['--help']).stdout, /usage: node dist\/cli\.js <command>/);
  // a file-system error names the user's path, not a temporary file
  const blocker = path.join(dir, 'blocker');
  fs.writeFileSync(blocker, 'a file where a folder is expected');
  const example = path.join(ROOT, 'data', 'example-results.sqlite');
  const csv = run(['export-csv', '--results', example, '--out', path.join(blocker, 'csv')]);
  assert.equal(csv.status, 1);
  assert.equal(csv.stderr.trim(), `error: cannot write ${path.join(blocker, 'csv')}: ENOTDIR`);
  assert.match(run(['--version']).stdout, /^resnet-sgdr-workspace \d+\.\d+\.\d+; @tensorflow\/tfjs 4\.22\.0/);
});

test('a protocol trains in 2 worker processes into one store, then resumes by skipping finished runs', async () => {
  const dir = tmpDir();
  const results = path.join(dir, 'r.sqlite');
  const args = ['experiment', '--protocol', 'quick', '--seeds', '1', '--max-epochs', '1', '--fraction', '0.02', '--batch-size', '32', '--workers', '2', '--results', results];
  const first = run(args);
  assert.equal(first.status, 0, first.stderr + first.stdout);
  assert.match(first.stdout, /training in 2 worker processes/);
  assert.match(first.stdout, /\[quick step seed 0\] epoch 1\/1 /);
  assert.match(first.stdout, /\[quick cosine seed 0\] epoch 1\/1 /);
  const store = await openResultsStore(results, { readonly: true });
  const runs = await store.listRuns();
  assert.equal(runs.length, 2);
  for (const r of runs) {
    assert.ok(['completed', 'censored'].includes(r.status), r.status);
    assert.equal(r.epochsCompleted, 1);
    assert.equal(r.backend, autoBackend());
    assert.equal((r.config as { seed: number }).seed, 0);
  }
  assert.equal((await store.listEpochs()).length, 2);
  await store.close();
  const second = run(args);
  assert.equal(second.status, 0);
  assert.match(second.stdout, /2 already finished, 0 to train/);
  const analyze = run(['analyze', '--results', results]);
  assert.equal(analyze.status, 0, analyze.stderr);
  // the arm rows against the store's raw runs: reached/total and the final test error of the one run per arm
  const check = await openResultsStore(results, { readonly: true });
  const saved = await check.listRuns();
  await check.close();
  for (const arm of ['step', 'cosine']) {
    const r = saved.find((x) => x.arm === arm)!;
    const row = analyze.stdout.split('\n').find((l) => l.startsWith(`${arm} `));
    assert.ok(row, `row of ${arm} in\n${analyze.stdout}`);
    const cells = row.split(/ {2,}/);
    assert.equal(cells[1], '1', `${arm} finished`);
    assert.equal(cells[2], `${r.epochsToTarget === null ? 0 : 1}/1`, `${arm} reached/total`);
    assert.equal(cells[8], `${(100 * (1 - r.finalTestAccuracy!)).toFixed(2)}% (n = 1)`, `${arm} final test error`);
  }
  // one run per arm: the comparison is in the model's direction and says why no Welch test
  assert.match(analyze.stdout, /final test error {2,}cosine − step {2,}1 {2,}1 {2,}– .*need at least 2 per arm/);
  assert.match(analyze.stdout, /log-rank \(epochs, step vs cosine\)/);
  // npm start on the finished store: nothing trained, the report and its charts written (HTML without Chromium), then the headline
  const out = path.join(dir, 'quick-report');
  const start = run(['start', ...args.slice(3), '--out', out], { CHROMIUM_PATH: path.join(dir, 'no-chromium') });
  assert.equal(start.status, 0, start.stderr);
  assert.match(start.stdout, /2 already finished, 0 to train/);
  const headline = start.stdout.slice(start.stdout.indexOf('== quick headline: 2 runs, data cifar-10-subset,'));
  assert.ok(headline.length > 0, start.stdout);
  for (const arm of ['step', 'cosine']) {
    const r = saved.find((x) => x.arm === arm)!;
    assert.match(headline, new RegExp(`^${arm}: +${r.epochsToTarget === null ? 0 : 1}/1 reached 30%; Kaplan–Meier median .* epochs, .* s( \\(CPU .* s\\))?; final test error ${(100 * (1 - r.finalTestAccuracy!)).toFixed(2)}% \\(n = 1\\)$`, 'm'));
  }
  assert.match(headline, /^log-rank: epochs p .*, seconds p /m);
  assert.match(headline, /^final test error, Welch cosine − step: not computed: .*need at least 2 per arm/m);
  assert.match(headline, new RegExp(`^report: ${path.join(out, 'report.md')}$`, 'm'));
  assert.match(headline, new RegExp(`^charts: 7 files in ${out}, interactive HTML \\(no Chromium found`, 'm'));
  assert.ok(fs.readFileSync(path.join(out, 'report.md'), 'utf8').includes('## Protocol quick'));
  assert.ok(fs.existsSync(path.join(out, 'quick-test-error.html')));
});

test('two experiments on one store at once never train the same run twice', async () => {
  const dir = tmpDir();
  const results = path.join(dir, 'r.sqlite');
  const args = [CLI, 'experiment', '--protocol', 'quick', '--seeds', '1', '--max-epochs', '1', '--fraction', '0.02', '--batch-size', '32', '--workers', '1', '--results', results];
  const { spawn } = await import('node:child_process');
  const runOne = () => new Promise<{ code: number | null; out: string }>((resolve) => {
    const p = spawn(process.execPath, args, { cwd: ROOT });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('exit', (code) => resolve({ code, out }));
  });
  const [a, b] = await Promise.all([runOne(), runOne()]);
  assert.equal(a.code, 0, a.out);
  assert.equal(b.code, 0, b.out);
  const store = await openResultsStore(results, { readonly: true });
  const attempts = await store.listRuns();
  await store.close();
  assert.equal(attempts.length, 2);
  for (const r of attempts) {
    assert.equal(r.attempts, 1, 'each run trained exactly once');
    assert.ok(['completed', 'censored'].includes(r.status));
  }
  const trained = [a.out, b.out].map((o) => Number(/trained (\d+)/.exec(o)?.[1] ?? NaN));
  assert.equal(trained[0] + trained[1], 2, a.out + b.out);
});
