/**
 * Reliability of what is saved, with real tiny runs through the CLI:
 * - divergence (learning rates 1e6 and 1e30, and a step schedule jumping to 1e30 in epoch 2) stops
 *   that run as 'diverged' with the epoch (and iteration) in its stored error; the protocol goes on;
 * - every run records its configuration, seed, code version, package versions and backend;
 *   a cycle longer than the run is allowed with a warning;
 * - the analysis refuses to pool runs whose configurations differ beyond the seed unless asked
 *   (loadResults allowMixedConfigs / --allow-mixed-configs).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT, autoBackend, tmpDir } from './helpers';
import { loadResults, PoolingError } from '../src/analysis/results';
import { configHash, type RunConfig } from '../src/train/config';
import { epochNumbers, makeMiniDataset, readStore, runCli, tinyArgs, tinyProtocolFile } from './fixtures/reliability/support';

const data = makeMiniDataset();
after(() => fs.rmSync(data, { recursive: true, force: true }));

test('divergence: NaN/Inf loss stops the run as diverged with the epoch in its error; the protocol goes on with the next run', () => {
  const dir = tmpDir('ws-rel-div-');
  const results = path.join(dir, 'results.sqlite');
  const file = tinyProtocolFile(dir, {
    name: 'diverge', maxEpochs: 2, target: null,
    arms: [
      { name: 'lr-1e30', schedule: { kind: 'constant', lr: 1e30 } },
      { name: 'jump-in-epoch-2', schedule: { kind: 'step', lr: 0.05, milestones: [3], gamma: 2e31 } }, // 3 iterations per epoch
      { name: 'lr-1e6', schedule: { kind: 'constant', lr: 1e6 } },
      { name: 'sane', schedule: { kind: 'constant', lr: 0.05 } },
    ],
  });
  const args = tinyArgs(file, data, results, ['--workers', '0']);
  const r = runCli(args);
  assert.equal(r.status, 0, r.stdout + r.stderr); // diverged is an outcome, not a failure
  assert.match(r.stdout, /\[diverge lr-1e30 seed 0\] diverged: training loss became (NaN|-?Infinity) at epoch 1, iteration \d+ \(learning rate 1e\+30\)/);
  assert.match(r.stdout, /\[diverge jump-in-epoch-2 seed 0\] diverged: training loss became (NaN|-?Infinity) at epoch 2, iteration [4-6] \(learning rate 1(\.\d+)?e\+30\)/);
  assert.match(r.stdout, /\[diverge lr-1e6 seed 0\] diverged: (training|validation) loss became (NaN|-?Infinity) at epoch 1/);
  assert.match(r.stdout, /\[diverge sane seed 0\] completed/);
  assert.match(r.stdout, /trained 4, skipped 0 finished, failed 0/);

  const s = readStore(results);
  assert.equal(s.integrity, 'ok');
  const row = (arm: string) => s.runs.find((x) => x.arm === arm)!;
  const huge = row('lr-1e30');
  assert.equal(huge.status, 'diverged');
  assert.match(String(huge.error), /^training loss became (NaN|-?Infinity) at epoch 1, iteration \d+ \(learning rate 1e\+30\)$/);
  assert.equal(huge.epochs_completed, 0);
  assert.deepEqual(epochNumbers(s.epochs, huge.run_id as string), []);
  assert.ok(huge.finished_at);
  const jump = row('jump-in-epoch-2');
  assert.equal(jump.status, 'diverged');
  assert.match(String(jump.error), /at epoch 2, iteration [4-6] /);
  assert.equal(jump.epochs_completed, 1, 'epoch 1 finished before the divergence');
  assert.deepEqual(epochNumbers(s.epochs, jump.run_id as string), [1]);
  const million = row('lr-1e6');
  assert.equal(million.status, 'diverged');
  assert.match(String(million.error), /loss became (NaN|-?Infinity) at epoch 1/);
  const sane = row('sane');
  assert.equal(sane.status, 'completed');
  assert.deepEqual(epochNumbers(s.epochs, sane.run_id as string), [1, 2]);

  // diverged runs are finished: re-running the protocol trains nothing
  const again = runCli(args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /4 already finished, 0 to train/);
});

test('every run records configuration, seed, code version, package versions and backend; analysis pools only equal configurations unless asked', async () => {
  const dir = tmpDir('ws-rel-prov-');
  const results = path.join(dir, 'results.sqlite');
  const schedule = { kind: 'cosine', lrMax: 0.05, lrMin: 0, cycleLengthEpochs: 3, cycleMult: 1, warmup: 'fastai' };
  const file = tinyProtocolFile(dir, { name: 'prov', maxEpochs: 1, seeds: 2, target: 0.5, arms: [{ name: 'sgdr', schedule }] });
  const r = runCli(tinyArgs(file, data, results, ['--workers', '2']));
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^warning: sgdr: cycle length 3 epochs is longer than the run \(1 epochs\); the learning rate never restarts$/m, 'allowed, with a warning');

  const s = readStore(results);
  assert.equal(s.runs.length, 2);
  const pkg = (name: string) => (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  for (const [seed, run] of s.runs.entries()) {
    const expected: RunConfig = {
      protocol: 'prov', arm: 'sgdr', seed, depth: 20, batchSize: 32, maxEpochs: 1, target: 0.5, stopAtTarget: false,
      schedule: schedule as RunConfig['schedule'], momentum: 0.9, weightDecay: 1e-4, bnMomentum: 0.1, bnEpsilon: 1e-5, augment: true,
      data: { dataset: 'cifar-10-mini', validationCount: 100, splitSeed: 0, trainFraction: 0.1, testCount: null },
    };
    assert.deepEqual(JSON.parse(run.config_json as string), expected);
    assert.equal(run.seed, seed);
    assert.equal(run.config_hash, configHash(expected));
    assert.equal(run.run_id, `prov/sgdr/seed-${seed}/${configHash(expected)}`);
    assert.equal(run.backend, autoBackend());
    assert.equal(run.status, 'completed');
    const versions = JSON.parse(run.versions_json as string) as Record<string, string>;
    assert.equal(versions['@tensorflow/tfjs'], pkg('@tensorflow/tfjs'));
    assert.equal(versions['@tensorflow/tfjs-core'], pkg('@tensorflow/tfjs-core'));
    assert.equal(versions['@tensorflow/tfjs-backend-wasm'], pkg('@tensorflow/tfjs-backend-wasm'));
    assert.equal(versions.node, process.version);
    const code = String(run.code_version);
    assert.match(code, /^[0-9a-f]{40}(-dirty)?$/);
    execFileSync('git', ['cat-file', '-e', `${code.slice(0, 40)}^{commit}`], { cwd: ROOT }); // a real commit of this repository
    assert.ok(run.host && run.pid && run.started_at && run.finished_at);
  }
  assert.equal(s.runs[0].config_hash, s.runs[1].config_hash, 'seeds differ, configurations do not');

  // same arm, different configuration (2 epochs)
  const r2 = runCli(tinyArgs(file, data, results, ['--workers', '0', '--max-epochs', '2', '--seeds', '1']));
  assert.equal(r2.status, 0, r2.stdout + r2.stderr);
  assert.match(r2.stdout, /0 already finished, 1 to train/);

  await assert.rejects(loadResults(results, { protocol: 'prov' }), (e: Error) => e instanceof PoolingError &&
    /refusing to pool prov\/sgdr: runs with 2 different configurations \(hashes [0-9a-f]{12}, [0-9a-f]{12}; maxEpochs: [12] vs [12]\)/.test(e.message) && /--allow-mixed-configs/.test(e.message));
  const mixed = await loadResults(results, { protocol: 'prov', allowMixedConfigs: true });
  assert.equal(mixed.runs.length, 3);
  assert.equal(mixed.epochs.length, 4);
  assert.match(mixed.notes.join('\n'), /^pooled prov\/sgdr: runs with 2 different configurations/);

  const refused = runCli(['analyze', '--protocol-file', file, '--results', results]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^error: .*results\.sqlite: refusing to pool prov\/sgdr: runs with 2 different configurations .*pass --allow-mixed-configs\n$/);
  const allowed = runCli(['analyze', '--protocol-file', file, '--results', results, '--allow-mixed-configs']);
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.match(allowed.stdout, /^note: pooled prov\/sgdr: runs with 2 different configurations/m);
  assert.match(allowed.stdout, /== prov: 3 runs/);
  assert.match(allowed.stdout, /^sgdr\s+3\s+\d\/3\s/m);
});

test('code version: the commit, "-dirty" when tracked files are modified, null outside git', () => {
  const repo = tmpDir('ws-rel-git-');
  // the compiled code under a project root of its own (PROJECT_ROOT = nearest folder with package.json)
  for (const sub of ['data', 'runs', 'train']) fs.mkdirSync(path.join(repo, 'dist-test', 'src', sub), { recursive: true });
  for (const sub of ['data', 'schedules']) fs.cpSync(path.join(ROOT, 'dist-test', 'src', sub), path.join(repo, 'dist-test', 'src', sub), { recursive: true });
  for (const file of ['runs/prepare.js', 'train/config.js']) fs.copyFileSync(path.join(ROOT, 'dist-test', 'src', file), path.join(repo, 'dist-test', 'src', file));
  fs.writeFileSync(path.join(repo, 'package.json'), '{"name": "copy"}\n');
  const version = () => execFileSync(process.execPath, ['-e', "console.log(JSON.stringify(require('./dist-test/src/runs/prepare.js').codeVersion()))"], { cwd: repo, encoding: 'utf8' }).trim();
  assert.equal(version(), 'null', 'not a git repository');
  const git = (...a: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', '-c', 'commit.gpgsign=false', ...a], { cwd: repo, encoding: 'utf8' }).trim();
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'c');
  const head = git('rev-parse', 'HEAD');
  assert.equal(version(), JSON.stringify(head));
  fs.writeFileSync(path.join(repo, 'untracked.txt'), 'x');
  assert.equal(version(), JSON.stringify(head), 'untracked files do not make it dirty');
  fs.appendFileSync(path.join(repo, 'package.json'), '\n');
  assert.equal(version(), JSON.stringify(`${head}-dirty`));
});
