/**
 * The fidelity comparison (src/bench/fidelity-compare.ts) against SciPy: per epoch the Welch
 * difference and its 95% and simultaneous (Bonferroni, 1 - 0.05 / epochs) intervals, and the
 * level (per seed, the mean over the epochs), computed with
 *   a, b = 100 * curves; scipy.stats.ttest_ind(a, b, equal_var=False); d -/+ t.ppf(1 - alpha / 2, df) * se
 * (Welch-Satterthwaite df in NumPy), SciPy 1.10, Debian python3-scipy. And the PyTorch trainer's
 * schedule and command-line checks (scripts/fidelity_torch.py) without training.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compareCurves, formatComparison } from '../src/bench/fidelity-compare';
import { SHARED_CIFAR } from './helpers';
import { requireComponent } from './fixtures/components';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('curves within seed noise agree; the interval per epoch is SciPy\'s', () => {
  const r = compareCurves({
    workspace: [[0.50, 0.61], [0.52, 0.63], [0.49, 0.60]],
    pytorch: [[0.47, 0.62], [0.51, 0.64], [0.48, 0.59], [0.40, 0.55]],
  });
  assert.equal(r.epochs, 2);
  assert.deepEqual(r.seeds, { workspace: 3, pytorch: 4 });
  close(r.difference[0], 3.8333333333333357); close(r.ci95[0][0], -3.218252097889798); close(r.ci95[0][1], 10.88491876455647);
  close(r.difference[1], 1.3333333333333357); close(r.ci95[1][0], -4.578152802532633); close(r.ci95[1][1], 7.244819469199304);
  close(r.workspace[0], 0.50333333333333333); close(r.pytorch[1], 0.6);
  // simultaneous over 2 epochs: each at 97.5%
  close(r.ciSimultaneous[0][0], -5.098411218313798); close(r.ciSimultaneous[0][1], 12.76507788498047);
  close(r.ciSimultaneous[1][0], -6.090025791614395); close(r.ciSimultaneous[1][1], 8.756692458281066);
  // the level: each seed's mean over the 2 epochs
  assert.ok(r.level);
  r.level.workspace.forEach((x, i) => close(x, [55.5, 57.5, 54.5][i]));
  close(r.level.difference, 2.5833333333333286); close(r.level.ci95[0], -3.751260323731888); close(r.level.ci95[1], 8.917926990398545);
  close(r.level.p, 0.31995099077582645, 1e-7);
  assert.equal(r.level.agree, true);
  assert.deepEqual(r.agreeByEpoch, [true, true]);
  assert.deepEqual(r.agreeSimultaneous, [true, true]);
  assert.equal(r.agreeControlled, true);
  assert.equal(r.agree, true);
  assert.match(formatComparison(r).at(-1)!, /^agree: /);
});

test('a gap beyond seed noise does not agree; one under 1 pp does, whatever its interval', () => {
  const far = compareCurves({ workspace: [[0.60], [0.61], [0.605]], pytorch: [[0.50], [0.51], [0.505]] });
  close(far.difference[0], 10); close(far.ci95[0][0], 8.866521032236239); close(far.ci95[0][1], 11.133478967763761);
  assert.equal(far.agree, false);
  assert.match(formatComparison(far).at(-1)!, /^DO NOT AGREE: 1 of 1 epochs/);
  assert.equal(far.agreeControlled, false);
  assert.match(formatComparison(far).at(-2)!, /DO NOT AGREE \(the level differs, 1 of 1 epochs differ by their simultaneous intervals\)$/);
  const near = compareCurves({ workspace: [[0.600], [0.601], [0.602]], pytorch: [[0.595], [0.596], [0.597]] });
  close(near.difference[0], 0.5); close(near.ci95[0][0], 0.2733042064472525); close(near.ci95[0][1], 0.7266957935527475);
  assert.equal(near.agree, true, 'the interval excludes 0 but the difference is 0.5 pp');
});

test('a small shift at every epoch: no 95% interval excludes 0 (the rule of issue 17 agrees), the level does not agree', () => {
  const r = compareCurves({
    workspace: [[0.52, 0.60, 0.70, 0.75], [0.50, 0.63, 0.68, 0.77], [0.53, 0.61, 0.71, 0.74]],
    pytorch: [[0.50, 0.59, 0.67, 0.73], [0.47, 0.61, 0.66, 0.75], [0.50, 0.58, 0.68, 0.72]],
  });
  assert.equal(r.epochs, 4);
  // epoch 3 alone: 95% interval [-0.45, 5.79]; simultaneous over 4 epochs (98.75%): [-2.38, 7.72]
  close(r.ci95[2][0], -0.45421728522898963); close(r.ci95[2][1], 5.787550618562332);
  close(r.ciSimultaneous[2][0], -2.3830745416336363); close(r.ciSimultaneous[2][1], 7.716407874966979);
  assert.deepEqual(r.agreeByEpoch, [true, true, true, true]);
  assert.deepEqual(r.agreeSimultaneous, [true, true, true, true]);
  assert.equal(r.agree, true);
  close(r.level!.difference, 2.3333333333333357); close(r.level!.ci95[0], 1.8211951783811062); close(r.level!.ci95[1], 2.845471488285565);
  close(r.level!.p, 0.0005590795424598466, 1e-6);
  assert.equal(r.level!.agree, false);
  assert.equal(r.agreeControlled, false);
  const lines = formatComparison(r);
  assert.match(lines.at(-3)!, /^level \(each seed's mean over epochs 1-4\): .* difference \+2\.33 pp \[\+1\.82, \+2\.85\], p = 0\.001: DIFFERS$/);
  assert.equal(lines.at(-2), 'false alarms held at 5% per check: DO NOT AGREE (the level differs)');
  assert.match(lines.at(-1)!, /^agree: /);
});

test('epochs are compared while both sides have 2 seeds (a run stopped at its target ends early); fewer than 2 seeds is an error', () => {
  const r = compareCurves({ workspace: [[0.5, 0.6, 0.7], [0.5, 0.6], [0.5, 0.61, 0.7]], pytorch: [[0.5, 0.6], [0.51, 0.6]] });
  assert.equal(r.epochs, 2);
  assert.deepEqual(r.seedsByEpoch, { workspace: [3, 3], pytorch: [2, 2] });
  // a side short of its seeds at an epoch says so in that epoch's line
  const short = compareCurves({ workspace: [[0.5, 0.6, 0.7], [0.5, 0.6], [0.5, 0.61, 0.7]], pytorch: [[0.5, 0.6, 0.7], [0.51, 0.6, 0.71]] });
  assert.deepEqual(short.seedsByEpoch, { workspace: [3, 3, 2], pytorch: [2, 2, 2] });
  const rows = formatComparison(short);
  assert.match(rows[0], /workspace val acc \(sd\), 3 seeds \| PyTorch val acc \(sd\), 2 seeds/);
  assert.match(rows[2], /^    2 \| 60\.33% \(0\.58\) \| 60\.00% \(0\.00\) \|/);
  assert.match(rows[3], /^    3 \| 70\.00% \(0\.00, 2 seeds\) \| 70\.50% \(0\.71\) \|/);
  assert.throws(() => compareCurves({ workspace: [[0.5]], pytorch: [[0.5], [0.6]] }), /at least 2 seeds per side, got 1 and 2/);
  // a seed that has not trained yet (no epochs) is not a seed of the comparison
  assert.deepEqual(compareCurves({ workspace: [[0.5, 0.6], [0.51, 0.6], []], pytorch: [[0.5, 0.6], [0.51, 0.6], [0.52, 0.61]] }).seeds, { workspace: 2, pytorch: 3 });
  assert.throws(() => compareCurves({ workspace: [[0.5], []], pytorch: [[0.5], [0.6]] }), /got 1 and 2/);
});

test('scripts/fidelity_torch.py: schedules by the papers\' formulas (independent of src/schedules), bad kinds named', () => {
  const py = '/usr/bin/python3';
  const script = path.join(__dirname, '..', '..', 'scripts');
  const r = spawnSync(py, ['-c', `
import sys, json; sys.path.insert(0, ${JSON.stringify(script)})
from fidelity_torch import learning_rate
c = {"kind": "cosine", "lrMax": 0.1, "lrMin": 0, "cycleLengthEpochs": 1, "cycleMult": 1, "warmup": "fastai"}
s = {"kind": "step", "lr": 0.1, "milestones": [32000, 48000], "gamma": 0.1}
print(json.dumps([learning_rate(c, i, 352) for i in (0, 17, 18, 176, 351, 352, 369, 370)] + [learning_rate(s, i, 352) for i in (31999, 32000, 48000)]))
`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const v = JSON.parse(r.stdout) as number[];
  // warm-up while iteration < ceil(352 / 20) = 18 (first cycle only); cosine 0.05 (1 + cos(pi t / 352)); step 0.1 -> 0.01 -> 0.001
  const expected = [0.001, 0.001, 0.05 * (1 + Math.cos(Math.PI * 18 / 352)), 0.05, 0.05 * (1 + Math.cos(Math.PI * 351 / 352)), 0.1,
    0.05 * (1 + Math.cos(Math.PI * 17 / 352)), 0.05 * (1 + Math.cos(Math.PI * 18 / 352)), 0.1, 0.01, 0.001];
  v.forEach((x, i) => close(x, expected[i], 1e-12));
});

test('npm run fidelity: the embedded subset and bad flags are one clear error each', () => {
  const cli = path.join(__dirname, '..', 'src', 'bench', 'fidelity.js');
  const subset = spawnSync(process.execPath, [cli, '--data', path.join(__dirname, '..', '..', 'data', 'cifar-10-subset')], { encoding: 'utf8' });
  assert.equal(subset.status, 1);
  assert.match(subset.stderr, /^fidelity: .*cifar-10-subset: fidelity needs the full CIFAR-10 \(50,000 training images\), found 5000; give --data or CIFAR10_DIR\n$/);
  const bad = spawnSync(process.execPath, [cli, '--epochs', 'ten'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, 'fidelity: --epochs must be an integer in 1..200, got ten\n');
  const compare = spawnSync(process.execPath, [cli, '--compare-only', '--pytorch-log', 'x.jsonl'], { encoding: 'utf8' });
  assert.equal(compare.status, 1);
  assert.equal(compare.stderr, 'fidelity: --compare-only compares what is there: it needs --workspace-results STORE and --pytorch-log FILE\n');
});

const haveFull = fs.existsSync(path.join(SHARED_CIFAR, 'data_batch_5.bin'));
test('npm run fidelity: one call at a time trains into a PyTorch log; a second one is an error naming the process', { skip: requireComponent('cifar-10', haveFull ? false : `no full CIFAR-10 at ${SHARED_CIFAR}`, __filename) }, () => {
  const cli = path.join(__dirname, '..', 'src', 'bench', 'fidelity.js');
  const full = SHARED_CIFAR;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-fidelity-lock-'));
  const log = path.join(dir, 'pytorch.jsonl');
  fs.writeFileSync(`${log}.lock`, String(process.pid)); // this test's process: alive
  const held = spawnSync(process.execPath, [cli, '--data', full, '--pytorch-log', log, '--workspace-results', path.join(dir, 'none.sqlite')], { encoding: 'utf8' });
  assert.equal(held.status, 1);
  assert.equal(held.stderr, `fidelity: ${log} is being trained into by process ${process.pid} (${log}.lock); wait for it, or compare what is there with --compare-only\n`);
  assert.equal(fs.readFileSync(`${log}.lock`, 'utf8'), String(process.pid), 'the holder keeps its lock');
  assert.ok(!fs.existsSync(log), 'nothing trained');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('scripts/fidelity_torch.py --checkpoint: a call cut after epoch 1 and resumed prints the same epochs 2-3 as one uninterrupted call; another run\'s checkpoint is an error naming it', () => {
  const embedded = path.join(__dirname, '..', '..', 'data', 'cifar-10-subset');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-fidelity-resume-'));
  const records = fs.readFileSync(path.join(embedded, 'data_batch_1.bin')).subarray(0, 60 * 3073);
  for (let i = 1; i <= 5; i++) fs.writeFileSync(path.join(dir, `data_batch_${i}.bin`), records);
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), fs.readFileSync(path.join(embedded, 'test_batch.bin')).subarray(0, 40 * 3073));
  const split = path.join(dir, 'split.json');
  fs.writeFileSync(split, JSON.stringify({ train: Array.from({ length: 200 }, (_, i) => i), validation: Array.from({ length: 60 }, (_, i) => 200 + i) }));
  const script = path.join(__dirname, '..', '..', 'scripts', 'fidelity_torch.py');
  const schedule = JSON.stringify({ kind: 'cosine', lrMax: 0.1, lrMin: 0, cycleLengthEpochs: 1, cycleMult: 1, warmup: 'fastai' });
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE; delete env.OPENBLAS_L2_SIZE;
  const train = (epochs: number, extra: string[], seed = 3) => {
    const r = spawnSync('/usr/bin/python3', [script, '--data', dir, '--split', split, '--seed', String(seed), '--epochs', String(epochs),
      '--schedule', schedule, '--batch', '32', '--threads', '1', ...extra], { encoding: 'utf8', env });
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => {
      const { seconds, cpuSeconds, ...rest } = JSON.parse(l) as Record<string, number>;
      assert.ok(seconds > 0 && cpuSeconds > 0);
      return rest;
    });
    return { status: r.status, stderr: r.stderr, lines };
  };
  const whole = train(3, []);
  assert.equal(whole.status, 0, whole.stderr);
  assert.deepEqual(whole.lines.map((l) => [l.epoch, l.iteration]), [[1, 7], [2, 14], [3, 21]]);
  const checkpoint = path.join(dir, 'seed-3.pt');
  const first = train(1, ['--checkpoint', checkpoint]);
  assert.equal(first.status, 0, first.stderr);
  assert.deepEqual(first.lines, whole.lines.slice(0, 1));
  const rest = train(3, ['--checkpoint', checkpoint]);
  assert.equal(rest.status, 0, rest.stderr);
  assert.deepEqual(rest.lines, whole.lines.slice(1), 'the resumed epochs equal the uninterrupted ones, losses and accuracies to the bit');
  const other = train(3, ['--checkpoint', checkpoint], 4);
  assert.equal(other.status, 1);
  assert.equal(other.stderr.trim(), `${checkpoint}: a checkpoint of another run (seed, schedule, split, batch or threads differ); remove it to start again`);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('npm run fidelity:paired: the same initial weights and batch give PyTorch\'s loss (step 1 to 1e-5, step 2, after one SGD update with momentum and weight decay, to 1e-3)', () => {
  const cli = path.join(__dirname, '..', 'src', 'bench', 'paired.js');
  const data = path.join(__dirname, '..', '..', 'data', 'cifar-10-subset', 'data_batch_1.bin');
  const r = spawnSync(process.execPath, [cli, '--steps', '2', '--batch', '16', '--data', data], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { workspace: number[]; pytorch: number[] };
  assert.equal(out.workspace.length, 2);
  close(out.workspace[0], out.pytorch[0], 1e-5);
  close(out.workspace[1], out.pytorch[1], 1e-3);
  assert.ok(Math.abs(out.workspace[0] - Math.log(10)) < 1, `a first loss near ln 10: ${out.workspace[0]}`);
});
