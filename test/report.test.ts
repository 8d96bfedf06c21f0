/**
 * reports/report.md from results stores built here with hand-made rows (src/store). The
 * expected numbers are independent of the report code: the Welch, one-sample t, Hedges' g and
 * Mann–Whitney values come from SciPy (test/fixtures/stats-scipy.json), the Kaplan–Meier median and
 * log-rank values from R survival (test/fixtures/stats-survival.json), means are computed below.
 * Chart export needs Chromium: without it that test fails, unless WS_ALLOW_MISSING=chromium.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import {
  analyzeResults, exportChartsForResults, loadResults, writeReport, findChromium, reportFigures, protocolDeviations, stillTrainingRuns,
} from '../src/analysis';
import { cliExportCharts, cliReport } from '../src/commands/report';
import type { PlotlyFigure } from '../src/analysis/charts';
import { openResultsStore, type ResultsStore } from '../src/store';
import { ROOT, tmpDir } from './helpers';
import { writeHandRun } from './fixtures/hand-runs';
import { requireComponent } from './fixtures/components';

const scipy = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/stats-scipy.json'), 'utf8'));
const survival = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/stats-survival.json'), 'utf8'));

interface HandRun {
  protocol: string;
  arm: string;
  seed: number;
  /** Epoch at which the target was reached, or the last epoch of a censored run. */
  epochs: number;
  reached: boolean;
  testError?: number;
  stopAtTarget?: boolean;
  /** Setup of the run (default: the protocol's own, so that only the seed count deviates). */
  maxEpochs?: number;
  dataset?: string;
  trainFraction?: number;
  status?: 'completed' | 'censored' | 'failed' | 'running' | 'diverged';
}

const SECONDS_PER_EPOCH = 10;

async function addRun(s: ResultsStore, r: HandRun): Promise<void> {
  const runId = `${r.protocol}/${r.arm}/seed-${r.seed}/hand`;
  const schedule = r.arm === 'step'
    ? { kind: 'step', lr: 0.1, milestones: [32000, 48000], gamma: 0.1 }
    : { kind: 'cosine', lrMax: 0.1, lrMin: 0, cycleLengthEpochs: r.arm === 'cosine-7' ? 7 : r.arm === 'cosine-14' ? 14 : 1, cycleMult: 1, warmup: 'fastai' };
  const start = {
    runId, protocol: r.protocol, arm: r.arm, seed: r.seed, configHash: `hand-${r.arm}`, target: 0.85, backend: 'test', versions: {}, codeVersion: null,
    config: {
      protocol: r.protocol, arm: r.arm, seed: r.seed, maxEpochs: r.maxEpochs ?? (r.protocol === 'full-182' ? 182 : 90), target: 0.85, stopAtTarget: r.stopAtTarget ?? true, batchSize: 128, schedule,
      data: { dataset: r.dataset ?? 'cifar-10', validationCount: 5000, splitSeed: 0, trainFraction: r.trainFraction ?? 1, testCount: null },
    },
  };
  const epochs: Parameters<typeof writeHandRun>[2] = [];
  for (let e = 1; e <= r.epochs; e++) {
    const hit = r.reached && e === r.epochs;
    epochs.push([{
      runId, epoch: e, iteration: e * 352, learningRate: 0.1, trainLoss: 1, trainAccuracy: 0.5, validationLoss: 1,
      validationAccuracy: hit ? 0.86 : 0.5 + (0.3 * e) / r.epochs, testLoss: 1, testAccuracy: 1 - (r.testError ?? 0.5),
      trainSeconds: e * SECONDS_PER_EPOCH, totalSeconds: e * SECONDS_PER_EPOCH + 1, trainCpuSeconds: null, totalCpuSeconds: null,
    }, {
      epochsCompleted: e, finalTestAccuracy: 1 - (r.testError ?? 0.5),
      ...(hit ? { epochsToTarget: e, iterationsToTarget: e * 352, secondsToTarget: e * SECONDS_PER_EPOCH } : {}),
    }]);
  }
  await writeHandRun(s, start, epochs, r.status ?? (r.reached ? 'completed' : 'censored'));
}

/**
 * race-to-85: the log-rank fixture's two groups (cosine: group 0, step: group 1; censored runs included);
 * full-182: the Welch fixture's samples as epochs to target (cosine-7: a, step: b), the one-sample
 * fixture's errors for cosine-7, a fixed pattern for step, and one cosine-14 run (n = 1).
 */
async function buildStore(file: string): Promise<void> {
  const s = await openResultsStore(file);
  const [g0, g1] = survival.logRank[0].groups as { times: number[]; events: number[] }[];
  for (const [i, t] of g0.times.entries()) await addRun(s, { protocol: 'race-to-85', arm: 'cosine', seed: i, epochs: t, reached: g0.events[i] === 1, testError: 0.15 + 0.01 * (i % 4) });
  for (const [i, t] of g1.times.entries()) await addRun(s, { protocol: 'race-to-85', arm: 'step', seed: i, epochs: t, reached: g1.events[i] === 1, testError: 0.16 + 0.01 * (i % 3) });
  const w = scipy.welch[0];
  const os = scipy.oneSample[0];
  for (const [i, t] of (w.a as number[]).entries()) await addRun(s, { protocol: 'full-182', arm: 'cosine-7', seed: i, epochs: t, reached: true, testError: os.x[i], stopAtTarget: false });
  for (const [i, t] of (w.b as number[]).entries()) await addRun(s, { protocol: 'full-182', arm: 'step', seed: i, epochs: t, reached: true, testError: 0.09 + 0.001 * (i % 3), stopAtTarget: false });
  await addRun(s, { protocol: 'full-182', arm: 'cosine-14', seed: 0, epochs: 20, reached: true, testError: 0.088, stopAtTarget: false });
  await s.close();
}

const close = (a: number, b: number, rel = 1e-9) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

describe('writeReport on hand-made runs', () => {
  const dir = tmpDir('report-test-');
  const store = path.join(dir, 'results.sqlite');
  before(() => buildStore(store));

  it('analysis numbers equal SciPy / R reference values', async () => {
    const { runs, epochs } = await loadResults(store);
    const [race, full] = analyzeResults(runs, epochs);
    assert.equal(race.protocol, 'race-to-85');
    assert.equal(full.protocol, 'full-182');
    // Welch on full-182 epochs (every run reached the target): SciPy ttest_ind(equal_var=False)
    const welch = full.comparisons.find((c) => c.measure === 'epochs to target' && c.armA === 'cosine-7' && c.armB === 'step')!;
    const we = scipy.welch[0].expected;
    assert.ok(close(welch.welch!.t, we.t) && close(welch.welch!.df, we.df) && close(welch.welch!.p, we.p, 1e-6), JSON.stringify(welch.welch));
    assert.ok(close(welch.welch!.ci[0], we.ci[0]) && close(welch.welch!.ci[1], we.ci[1]));
    const he = scipy.hedges[0].expected;
    assert.ok(close(welch.hedges!.g, he.g) && close(welch.hedges!.ci[0], he.ci[0]));
    const mw = scipy.mannWhitney[0].expected;
    assert.ok(close(welch.mannWhitney!.p, mw.p, 1e-6) && welch.mannWhitney!.u === mw.u);
    // One-sample t of cosine-7's errors vs 8.75 %: SciPy ttest_1samp
    const os = scipy.oneSample[0].expected;
    const c7 = full.arms.find((a) => a.arm === 'cosine-7')!;
    assert.ok(close(c7.testErrorVsPaper!.t, os.t, 1e-8) && close(c7.testErrorVsPaper!.p, os.p, 1e-6));
    assert.ok(close(c7.testError!.ci![0], os.ci[0], 1e-8) && close(c7.testError!.ci![1], os.ci[1], 1e-8));
    // Kaplan–Meier median and log-rank with censored runs: R survival
    const cos = race.arms.find((a) => a.arm === 'cosine')!;
    const km = survival.kaplanMeier[0].expected.median;
    assert.deepEqual([cos.kmEpochs!.median, cos.kmEpochs!.lower, cos.kmEpochs!.upper], [km.estimate, km.lower, km.upper]);
    const lr = survival.logRank[0].expected;
    const lrEpochs = race.logRank.find((l) => l.metric === 'epochs')!.result!;
    assert.ok(close(lrEpochs.chiSquare, lr.chiSquare, 1e-9) && close(lrEpochs.p, lr.p, 1e-8));
    // Seconds are 10 x epochs here, so the log-rank on seconds is the same test.
    assert.ok(close(race.logRank.find((l) => l.metric === 'seconds')!.result!.chiSquare, lr.chiSquare, 1e-9));
    // Naive means: only runs that reached the target.
    const g0 = survival.logRank[0].groups[0] as { times: number[]; events: number[] };
    const reached = g0.times.filter((_, i) => g0.events[i] === 1);
    assert.ok(close(cos.epochs!.mean, reached.reduce((s, x) => s + x, 0) / reached.length));
    assert.equal(cos.n, 12);
    assert.equal(cos.reached, 11);
    assert.equal(cos.censored, 1);
  });

  it('the markdown shows per-arm n, the original study, and the reference values', async () => {
    const out = path.join(dir, 'out', 'report.md');
    const r = await writeReport({ results: store, out, charts: false });
    assert.equal(r.file, out);
    const md = fs.readFileSync(out, 'utf8');
    assert.equal(md, r.markdown);
    // per-arm n / reached / censored rows
    assert.match(md, /\| cosine \| 12 \| 11 \| 1 \| 0 \|/);
    assert.match(md, /\| step \| 12 \| 9 \| 3 \| 0 \|/);
    assert.match(md, /\| cosine-7 \| 10 \| 10 \| 0 \| 0 \|/);
    assert.match(md, /\| cosine-14 \| 1 \| 1 \| 0 \| 0 \|/);
    // the original study's figures
    for (const s of ['| 30.5 |', '| 21 |', '90.98%', '91.10%', '8.75%']) assert.ok(md.includes(s), `missing ${s}`);
    // Welch (SciPy): t -16.14, df 15.3, p 4.91e-11, CI [-14.49, -11.11]; means 19.50 vs 32.30
    assert.match(md, /\| epochs to target \| cosine-7 − step \| 10 \| 10 \| 19\.50 vs 32\.30 \| -12\.80 epochs \| \[-14\.49, -11\.11\] \| -16\.14 \| 15\.3 \| 4\.91e-11 \| -6\.91 \[-9\.23, -4\.60\] \| 0\.0 \| 1\.69e-4 \|/);
    // one-sample t vs 8.75% (SciPy): mean 8.87%, CI [8.75%, 9.00%], t 2.20, p 0.0551
    assert.match(md, /\| cosine-7 \| 10 \| 8\.87% \| \[8\.75%, 9\.00%\] \| 0\.121 pp \| 2\.20 \| 0\.0551 \|/);
    // Kaplan–Meier (R): median 20 [19, NA]; log-rank (R) chi-square 10.435, p 0.00124
    assert.match(md, /\| cosine \| 12 \| 11 \| 20\.0 \| \[19\.0, not reached\] \|/);
    assert.match(md, /\| epochs \| step vs cosine \| 9 \/ 14\.76; 11 \/ 5\.24 \| 10\.435 \| 1 \| 0\.00124 \|/);
    // naive mean of cosine's reached runs, 218 / 11
    assert.ok(md.includes(`| ${(218 / 11).toFixed(2)} |`));
    // n = 1 and the explanations
    assert.match(md, /only 1 run of cosine-14 with a test error: no confidence interval or t-test/);
    assert.match(md, /cosine-14 has 1 run that reached the target \(need at least 2 per arm\)/);
    assert.match(md, /Welch t-test/);
    assert.match(md, /censored runs excluded \(naive\)/);
    assert.doesNotMatch(md, /NaN|undefined|Infinity|∞/);
    // atomic write: no temporary files left
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['report.md']);
  });

  it('edge cases print sentences: n < 2, all censored, an arm with no runs, an empty store', async () => {
    const edge = path.join(dir, 'edge.sqlite');
    const s = await openResultsStore(edge);
    await addRun(s, { protocol: 'race-to-85', arm: 'step', seed: 0, epochs: 40, reached: false });
    await addRun(s, { protocol: 'race-to-85', arm: 'step', seed: 1, epochs: 3, reached: false, status: 'failed' });
    await s.close();
    const r = await writeReport({ results: edge, out: path.join(dir, 'edge.md'), charts: false });
    assert.match(r.markdown, /arm cosine has no runs in the results store/i);
    assert.match(r.markdown, /median not reached: all 1 run of step were censored \(none reached 85% within 40 epochs\)/);
    assert.match(r.markdown, /No between-arm tests: only step has finished runs/);
    assert.match(r.markdown, /only 1 run of step with a test error/);
    assert.match(r.markdown, /\| 0 \/ 1 \/ 0 \|/); // one failed run listed apart
    assert.match(r.markdown, /no race-to-85 runs of arm cosine in this store/);
    assert.match(r.markdown, /no full-182 runs of arm cosine-7 in this store/);
    assert.doesNotMatch(r.markdown, /NaN|undefined|Infinity/);

    const empty = path.join(dir, 'empty.sqlite');
    await (await openResultsStore(empty)).close();
    const e = await writeReport({ results: empty, out: path.join(dir, 'empty.md'), charts: false });
    assert.match(e.markdown, /The results store has no runs: there is nothing to analyse/);
    assert.doesNotMatch(e.markdown, /NaN|undefined/);
  });

  it('a protocol whose runs are all still training: its schedules and validation so far, captioned with each run\'s epoch', async () => {
    const file = path.join(dir, 'in-training.sqlite');
    const s = await openResultsStore(file);
    await addRun(s, { protocol: 'full-182', arm: 'cosine-14', seed: 0, epochs: 44, reached: false, stopAtTarget: false, status: 'running' });
    await addRun(s, { protocol: 'full-182', arm: 'step', seed: 3, epochs: 22, reached: false, stopAtTarget: false, status: 'running' });
    await addRun(s, { protocol: 'race-to-85', arm: 'step', seed: 0, epochs: 0, reached: false, status: 'running' });
    await s.close();
    const r = await writeReport({ results: file, out: path.join(dir, 'in-training.md'), charts: false });
    const caveat = 'in training for 182 epochs, no run finished yet: cosine-14 seed 0 at epoch 44, step seed 3 at epoch 22';
    // race-to-85's only run has no epoch yet: nothing of it is drawn
    assert.deepEqual(r.figures.map((f) => f.name), ['full-182-schedules', 'full-182-validation']);
    for (const f of r.figures) {
      assert.equal(f.caveat, caveat, f.name);
      assert.ok(((f.figure.layout.title as { subtitle: { text: string } }).subtitle.text).startsWith(`⚠ ${caveat}`), f.name);
    }
    const lines = r.figures[1].figure.data.filter((d) => (d.meta as { runId?: string } | undefined)?.runId !== undefined);
    assert.deepEqual(lines.map((d) => (d.x as number[]).length), [44, 22]);
    assert.deepEqual(r.analyses.find((p) => p.protocol === 'full-182')!.arms.map((a) => [a.arm, a.inTraining]),
      [['cosine-7', []], ['cosine-14', [{ seed: 0, epochs: 44 }]], ['step', [{ seed: 3, epochs: 22 }]]]);
    // the analysis text says how far each run is
    assert.match(r.markdown, /- Arm cosine-14 has no finished runs \(1 running run of 182 epochs: seed 0 at epoch 44; 0 failed runs\)\./);
    assert.match(r.markdown, /\| mean test accuracy after 182 epochs, SGDR cycle 14 epochs \| 91\.10% \(error 8\.90%\) \| not reported \| not reported \| – \| no finished full-182 run of arm cosine-14 yet \(in training for 182 epochs: seed 0 at epoch 44\) \| – \|/);
    assert.match(r.markdown, /\| 8\.75% \| not reported \| not reported \| – \| no finished full-182 run of arm step yet \(in training for 182 epochs: seed 3 at epoch 22\) \| – \|/);
    assert.match(r.markdown, /\| median epochs to 85% validation accuracy, constant 0\.1 \/ step schedule \| 30\.5 \| not reported \| not reported \| 0 \| no finished race-to-85 run of arm step yet \(in training for 90 epochs: seed 0 before its first epoch\) \| – \|/);
    // one run finished, one still training: the figures that show the latter partly or not at all name it
    const mixed = path.join(dir, 'mixed.sqlite');
    const m = await openResultsStore(mixed);
    await addRun(m, { protocol: 'full-182', arm: 'cosine-14', seed: 0, epochs: 182, reached: false, stopAtTarget: false, status: 'completed', testError: 0.1 });
    await addRun(m, { protocol: 'full-182', arm: 'step', seed: 3, epochs: 22, reached: false, stopAtTarget: false, status: 'running' });
    await m.close();
    const mr = await writeReport({ results: mixed, out: path.join(dir, 'mixed.md'), charts: false });
    const still = 'still in training for 182 epochs: step seed 3 at epoch 22';
    const byName = Object.fromEntries(mr.figures.map((f) => [f.name, f]));
    assert.equal(byName['full-182-validation'].caveat, `${still} (its curve ends at that epoch)`);
    assert.equal(byName['full-182-test-error'].caveat, `${still} (not in this figure until it finishes)`);
    assert.ok(byName['full-182-test-error'].caption.endsWith(`(${still} (not in this figure until it finishes))`));
    assert.equal(byName['full-182-schedules'].caveat, null);
    assert.equal(stillTrainingRuns(r.analyses.find((p) => p.protocol === 'full-182')!), null); // nothing finished: inTrainingCaveat's case

    // nothing to chart at all: one error naming the store
    const bare = path.join(dir, 'bare.sqlite');
    const b = await openResultsStore(bare);
    await addRun(b, { protocol: 'full-182', arm: 'step', seed: 0, epochs: 0, reached: false, stopAtTarget: false, status: 'running' });
    await b.close();
    await assert.rejects(cliExportCharts({ results: bare, out: path.join(dir, 'bare-charts') }),
      /protocol full-182 has no finished run and no trained epoch in .*bare\.sqlite \(1 started or waiting, 0 failed/);
  });

  it('bad input is an Error naming the file or value', async () => {
    await assert.rejects(writeReport({ results: path.join(dir, 'none.sqlite'), charts: false }), /none\.sqlite does not exist/);
    await assert.rejects(writeReport({ results: store, out: dir, charts: false }), /is a folder/);
    await assert.rejects(writeReport({ results: store, protocol: 'nope', charts: false, out: path.join(dir, 'x.md') }), /unknown protocol "nope"/);
    await assert.rejects(cliReport({ results: store, formats: 'png,gif', out: path.join(dir, 'y.md') }), /--formats "png,gif": unknown format "gif"/);
    await assert.rejects(cliReport({ results: store, scale: 'big', out: path.join(dir, 'y.md') }), /--scale must be a number in \(0, 10\], got "big"/);
    await assert.rejects(cliReport({ results: store, out: path.join(dir, 'report.txt') }), /--out ".*report\.txt" must be a markdown file/);
    await assert.rejects(cliExportCharts({ results: path.join(dir, 'missing.sqlite') }), /missing\.sqlite does not exist/);
    const notStore = path.join(dir, 'text.sqlite');
    fs.writeFileSync(notStore, 'not a database '.repeat(100));
    await assert.rejects(writeReport({ results: notStore, charts: false, out: path.join(dir, 'z.md') }), /text\.sqlite/);
  });

  let noChromium: string | false = false;
  try {
    findChromium();
  } catch (e) {
    noChromium = (e as Error).message;
  }
  it('exports the charts next to the report and links them', { skip: requireComponent('chromium', noChromium, __filename) }, async () => {
    const out = path.join(dir, 'charts', 'report.md');
    const r = await writeReport({ results: store, out, formats: ['png'], scale: 1, protocol: 'race-to-85' });
    const names = r.figures.map((f) => f.name);
    assert.deepEqual(names, ['race-to-85-schedules', 'race-to-85-validation', 'race-to-85-time-to-target-epochs', 'race-to-85-time-to-target-seconds',
      'race-to-85-kaplan-meier-epochs', 'race-to-85-kaplan-meier-seconds', 'race-to-85-test-error']);
    for (const n of names) {
      const png = path.join(dir, 'charts', `${n}.png`);
      assert.ok(fs.statSync(png).size > 5000, png);
      assert.equal(fs.readFileSync(png).subarray(1, 4).toString('latin1'), 'PNG');
      assert.ok(r.markdown.includes(`![`) && r.markdown.includes(`(${n}.png)`), `report links ${n}.png`);
    }
    assert.doesNotMatch(r.markdown, /## Protocol full-182/);
    const e = await exportChartsForResults({ results: store, outDir: path.join(dir, 'svg'), formats: ['svg'], protocol: 'full-182' });
    assert.ok(e.figures.some((f) => f.name === 'full-182-test-error'));
    assert.match(fs.readFileSync(path.join(dir, 'svg', 'full-182-test-error.svg'), 'utf8'), /^<svg/);
  });

  it('runs that deviate from the protocol: tests marked not interpretable, no one-sample test vs 8.75%, figure caveats', async () => {
    // The hand-made store follows the protocols' setup; only the seed count deviates, which does not
    // change what is measured: tests are shown as usual.
    const { runs } = await loadResults(store);
    const ok = protocolDeviations('full-182', runs);
    assert.deepEqual(ok.setupDeviations, []);
    assert.deepEqual(ok.deviations, []);
    assert.match(protocolDeviations('race-to-85', runs).deviations.join(), /at most 12 finished runs per arm instead of the protocol's 20/);
    assert.equal(protocolDeviations('race-to-85', runs).caveat, null);
    const normal = await writeReport({ results: store, out: path.join(dir, 'normal.md'), charts: false });
    assert.doesNotMatch(normal.markdown, /not interpretable|Not interpretable/);
    assert.ok(normal.figures.every((f) => f.caveat === null));

    // 2-epoch full-182 runs on the subset, half of the training images
    const dev = path.join(dir, 'deviating.sqlite');
    const s = await openResultsStore(dev);
    const errs: Record<string, number[]> = { 'cosine-7': [0.9, 0.903], 'cosine-14': [0.91, 0.905], step: [0.77, 0.775] };
    for (const [arm, es] of Object.entries(errs)) {
      for (const [seed, e] of es.entries()) await addRun(s, { protocol: 'full-182', arm, seed, epochs: 2, reached: false, testError: e, stopAtTarget: false, maxEpochs: 2, dataset: 'cifar-10-subset', trainFraction: 0.5 });
    }
    await s.close();
    const r = await writeReport({ results: dev, out: path.join(dir, 'deviating.md'), charts: false });
    const [p] = r.analyses;
    assert.deepEqual(p.setupDeviations, ["at most 2 epochs instead of the protocol's 182", 'data cifar-10-subset instead of the full CIFAR-10', 'train fraction 0.5 instead of 1']);
    const caveat = 'runs of at most 2 epochs (not 182) on cifar-10-subset, train fraction 0.5 — not the full-182 protocol';
    assert.equal(p.deviationCaveat, caveat);
    const md = r.markdown;
    // Welch between arms: kept, under the marked heading
    assert.match(md, /### Between-arm tests \(not interpretable: these runs deviate from the protocol\)\n\n\*\*Not interpretable: these runs deviate from the full-182 protocol \(at most 2 epochs instead of the protocol's 182; data cifar-10-subset instead of the full CIFAR-10; train fraction 0\.5 instead of 1\)\.\*\*/);
    assert.match(md, /\| final test error \| cosine-7 − step \| 2 \| 2 \|/);
    // one-sample t vs 8.75%: suppressed (no t / p columns), the means kept for description
    const paper = md.slice(md.indexOf("### Final test error vs the ResNet paper's 8.75%"));
    assert.match(paper, /^### Final test error vs the ResNet paper's 8\.75% \(not tested: these runs deviate from the protocol\)/);
    assert.doesNotMatch(paper.split('\n## ')[0], /One-sample Student t-test|\| t \| p \|/);
    assert.match(paper, /\| arm \| n \| mean test error \| 95% CI \(Student t\) \|\n\| --- \| --- \| --- \| --- \|\n\| cosine-7 \| 2 \| 90\.15% \|/);
    // the analysis data still hold the tests (the markdown decides what to print)
    assert.ok(p.arms.find((a) => a.arm === 'cosine-7')!.testErrorVsPaper);
    // every figure carries the caveat on its subtitle's first line
    assert.ok(r.figures.length >= 5);
    for (const f of r.figures) {
      assert.equal(f.caveat, caveat, f.name);
      const sub = ((f.figure.layout.title as { subtitle: { text: string } }).subtitle.text);
      assert.ok(sub === `⚠ ${caveat}` || sub.startsWith(`⚠ ${caveat}<br>`), `${f.name}: ${sub}`);
      assert.ok(f.caption.endsWith(`(${caveat})`), f.name);
    }
  });

  const example = path.join(ROOT, 'data', 'example-results.sqlite');
  it('the example store: boxes agree with Kaplan–Meier, full-182 figures carry the caveat, quick ones none', async () => {
    const { runs, epochs } = await loadResults(example);
    const figs = reportFigures(runs, epochs);
    const analyses = analyzeResults(runs, epochs);
    const quick = analyses.find((p) => p.protocol === 'quick')!;
    const fig = (name: string): PlotlyFigure => figs.find((f) => f.name === name)!.figure;
    // cosine: one run reached 30% at epoch 3, one censored at 6: drawn as a point at 3 (the run
    // that reached it, as Kaplan–Meier's median) and an open triangle at 6; no box for n < 5
    const tt = fig('quick-time-to-target-epochs');
    assert.equal(tt.data.filter((d) => d.type === 'box').length, 0);
    assert.deepEqual(tt.data.find((d) => (d.meta as { arm?: string; censored?: boolean } | undefined)?.arm === 'cosine' && !(d.meta as { censored: boolean }).censored)!.y, [3]);
    assert.equal(quick.arms.find((a) => a.arm === 'cosine')!.kmEpochs!.median, 3);
    assert.match((fig('quick-time-to-target-epochs').layout.title as { subtitle: { text: string } }).subtitle.text, /1 censored run .* plotted as lower bound/);
    // quick's test-error figure: no original-study figure for step / cosine, so no diamonds mentioned
    assert.doesNotMatch(JSON.stringify(fig('quick-test-error').layout.title), /diamond/);
    assert.match(JSON.stringify(fig('full-182-test-error').layout.title), /diamonds: original study \(cosine-7, cosine-14\)/);
    // Kaplan–Meier (seconds): each arm's curve ends at its own last observation
    const km = fig('quick-kaplan-meier-seconds');
    const ends = km.data.filter((d) => (d.meta as { lastObservation?: number } | undefined)?.lastObservation !== undefined).map((d) => [String(d.name), Math.max(...(d.x as number[])), (d.meta as { lastObservation: number }).lastObservation]);
    for (const [name, end, last] of ends) assert.equal(end, last, String(name));
    assert.notEqual(ends[0][1], ends[1][1]);
    // the protocol caveat
    for (const f of figs) {
      if (f.protocol === 'quick') assert.equal(f.caveat, null, f.name);
      else assert.match(String((f.figure.layout.title as { subtitle: { text: string } }).subtitle.text), /^⚠ runs of at most 2 epochs \(not 182\) on cifar-10-subset, train fraction 0\.5 — not the full-182 protocol(<br>|$)/, f.name);
    }
  });

  it('the committed example store gives a report with both race arms', async () => {
    const copy = path.join(dir, 'example.sqlite');
    fs.copyFileSync(example, copy);
    const r = await writeReport({ results: copy, out: path.join(dir, 'example.md'), charts: false });
    const quick = r.analyses.find((p) => p.protocol === 'quick')!;
    assert.ok(quick, 'quick protocol runs');
    for (const arm of ['step', 'cosine']) assert.ok(quick.arms.find((a) => a.arm === arm)!.n >= 2, arm);
    assert.match(r.markdown, /## Protocol quick/);
    assert.doesNotMatch(r.markdown, /NaN|undefined/);
  });
});
