/**
 * One analysis, many views: for one results store, the CLI text (`node dist/cli.js analyze`, a real
 * process), the markdown report (writeReport) and the danfo comparison / arm frames give the same
 * numbers with the same sign, in the one direction of the model (protocol order, step as B). The
 * mean differences are checked against means computed here from the hand-made test errors, and
 * the pairs against the order written out by hand, not against the model's own output.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { analyzeResults, armFrame, comparisonFrame, fmt, frameHtml, loadResults, runsFrame, writeReport } from '../src/analysis';
import { openResultsStore, type ResultsStore } from '../src/store';
import { writeHandRun } from './fixtures/hand-runs';
import { ROOT, tmpDir } from './helpers';

/** Final test errors per arm (fractions) and epochs to 85% (null = censored at 90). */
const FULL: Record<string, number[]> = { 'cosine-7': [0.091, 0.094, 0.089, 0.093], 'cosine-14': [0.088, 0.087, 0.09, 0.086], step: [0.0875, 0.092, 0.0911, 0.095] };
const RACE: Record<string, (number | null)[]> = { step: [31, 28, null, 35, 30], cosine: [20, 22, 19, null, 24] };
/** The pairs in the one direction of the model, written out by hand. */
const PAIRS: Record<string, string[]> = { 'full-182': ['cosine-7 − cosine-14', 'cosine-7 − step', 'cosine-14 − step'], 'race-to-85': ['cosine − step'] };

async function addRun(s: ResultsStore, protocol: string, arm: string, seed: number, epochs: number, reached: boolean, testError: number): Promise<void> {
  const runId = `${protocol}/${arm}/seed-${seed}/views`;
  const schedule = arm === 'step' ? { kind: 'step', lr: 0.1, milestones: [32000, 48000], gamma: 0.1 }
    : { kind: 'cosine', lrMax: 0.1, lrMin: 0, cycleLengthEpochs: arm === 'cosine-7' ? 7 : arm === 'cosine-14' ? 14 : 1, cycleMult: 1, warmup: 'fastai' };
  const full = protocol === 'full-182';
  const start = {
    runId, protocol, arm, seed, configHash: `views-${arm}`, target: 0.85, backend: 'test', versions: {}, codeVersion: null,
    config: {
      protocol, arm, seed, maxEpochs: full ? 182 : 90, target: 0.85, stopAtTarget: !full, batchSize: 128, schedule,
      data: { dataset: 'cifar-10', validationCount: 5000, splitSeed: 0, trainFraction: 1, testCount: null },
    },
  };
  const rows: Parameters<typeof writeHandRun>[2] = [];
  for (let e = 1; e <= epochs; e++) {
    const hit = reached && e === epochs;
    rows.push([{
      runId, epoch: e, iteration: e * 352, learningRate: 0.1, trainLoss: 1, trainAccuracy: 0.5, validationLoss: 1,
      validationAccuracy: hit ? 0.86 : 0.5, testLoss: 1, testAccuracy: 1 - testError, trainSeconds: e * 7 + seed, totalSeconds: e * 7 + seed + 1, trainCpuSeconds: null, totalCpuSeconds: null,
    }, { epochsCompleted: e, finalTestAccuracy: 1 - testError, ...(hit ? { epochsToTarget: e, iterationsToTarget: e * 352, secondsToTarget: e * 7 + seed } : {}) }]);
  }
  await writeHandRun(s, start, rows, reached || full ? 'completed' : 'censored');
}

const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;

/** Cells of the rows of a plain-text table (columns separated by 2+ spaces) whose first cell is a measure. */
function cliRows(section: string): string[][] {
  return section.split('\n').map((l) => l.split(/ {2,}/)).filter((c) => /^(epochs to target|seconds to target|final test error)$/.test(c[0]) && c.length >= 6 && /−/.test(c[1]));
}

/** Cells of markdown table rows whose first cell is a measure. */
function mdRows(section: string): string[][] {
  return section.split('\n').filter((l) => /^\| (epochs to target|seconds to target|final test error) \|/.test(l)).map((l) => l.slice(2, -2).split(' | '));
}

describe('CLI text, markdown report and danfo frames render one analysis', () => {
  const dir = tmpDir('views-test-');
  const store = path.join(dir, 'results.sqlite');
  before(async () => {
    const s = await openResultsStore(store);
    for (const [arm, errors] of Object.entries(FULL)) for (const [i, e] of errors.entries()) await addRun(s, 'full-182', arm, i, 3 + i, true, e);
    for (const [arm, times] of Object.entries(RACE)) for (const [i, t] of times.entries()) await addRun(s, 'race-to-85', arm, i, t ?? 90, t !== null, 0.2);
    await s.close();
  });

  it('same pairs, same direction, same numbers and signs in all three views', async () => {
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'analyze', '--results', store], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const report = await writeReport({ results: store, out: path.join(dir, 'report.md'), charts: false });
    const { runs, epochs } = await loadResults(store);
    const analyses = analyzeResults(runs, epochs);
    const frame = comparisonFrame(analyses);
    const cols = frame.columns as string[];
    const frameRows = (frame.values as unknown[][]).map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i]]))) as Record<string, string & number>[];

    for (const protocol of ['race-to-85', 'full-182']) {
      const cliSection = cli.stdout.split(/^== /m).find((s) => s.startsWith(`${protocol}:`))!;
      const mdSection = report.markdown.split(/^## Protocol /m).find((s) => s.startsWith(`${protocol}\n`))!;
      assert.ok(cliSection && mdSection, `${protocol} in both views`);
      const c = cliRows(cliSection).filter((r) => r.length === 11 || r.length === 10);
      const welchMd = mdRows(mdSection.split('### Power')[0].split('### Between-arm tests')[1]);
      const f = frameRows.filter((r) => r.protocol === protocol);
      // pairs: protocol order, step always as B, the same in every view
      for (const rows of [c.map((r) => r[1]), welchMd.map((r) => r[1]), f.map((r) => `${r.armA} − ${r.armB}`)]) {
        assert.deepEqual([...new Set(rows)], PAIRS[protocol], `${protocol} pairs`);
      }
      assert.equal(c.length, 3 * PAIRS[protocol].length);
      assert.equal(welchMd.length, c.length);
      assert.equal(f.length, c.length);
      for (let i = 0; i < c.length; i++) {
        const [measure, pair] = c[i];
        assert.equal(welchMd[i][0], measure);
        assert.equal(f[i].measure, measure);
        // columns: measure, arms, nA, nB, means, mean difference, CI, t, df, p
        assert.deepEqual(c[i].slice(2, 10), welchMd[i].slice(2, 10), `${protocol} ${measure} ${pair}: CLI vs report`);
        if (measure === 'final test error') {
          const [a, b] = pair.split(' − ');
          const expected = protocol === 'full-182' ? 100 * (mean(FULL[a]) - mean(FULL[b])) : 0;
          assert.equal(c[i][5], `${fmt(expected, 3)} pp`, `${pair}: difference from the raw errors`);
          assert.equal(c[i][5], `${fmt(100 * f[i].difference, 3)} pp`, `${pair}: frame`);
          assert.equal(c[i][9], welchMd[i][9]);
          if (Number.isFinite(f[i].p)) assert.equal(Math.sign(f[i].t), Math.sign(expected), `${pair}: sign of t`);
        }
        if (protocol === 'race-to-85' && measure === 'epochs to target') {
          const reached = (arm: string) => RACE[arm].filter((t): t is number => t !== null);
          assert.equal(c[i][5], `${fmt(mean(reached('cosine')) - mean(reached('step')), 2)} epochs`);
          assert.equal(c[i][5], `${fmt(f[i].difference, 2)} epochs`);
          assert.ok(f[i].difference < 0, 'SGDR − step is negative: SGDR reaches 85% sooner');
        }
      }
      // power rows: same in the CLI and the report
      const powerCli = cliSection.split('Power (')[1];
      const powerMd = mdSection.split('### Power')[1].split('###')[0];
      const pc = cliRows(powerCli);
      const pm = mdRows(powerMd);
      assert.equal(pc.length, pm.length);
      pc.forEach((r, i) => assert.deepEqual(r.slice(0, 6), pm[i].slice(0, 6), `power ${r[0]} ${r[1]}`));
    }
    // Kaplan–Meier medians: CLI arm table, report and arm frame
    const arms = armFrame(analyses);
    const acols = arms.columns as string[];
    const armRows = (arms.values as unknown[][]).map((r) => Object.fromEntries(acols.map((c, i) => [c, r[i]]))) as Record<string, string & number>[];
    for (const arm of ['step', 'cosine']) {
      const row = armRows.find((r) => r.protocol === 'race-to-85' && r.arm === arm)!;
      // by hand: step reached at 28, 30, 31, 35 with one censored at 90 -> KM median 31; cosine 19, 20, 22, 24, censored 90 -> 22
      assert.equal(row.kmEpochs, arm === 'step' ? 31 : 22);
      const line = cli.stdout.split('\n').find((l) => l.startsWith(`${arm} `) && l.includes('/5'))!;
      assert.ok(line.includes(`${fmt(row.kmEpochs, 1)} [`), line);
      assert.match(report.markdown, new RegExp(`\\| ${arm} \\| 5 \\| 4 \\| ${fmt(row.kmEpochs, 1)} \\|`));
    }
  });

  it('danfo tables show accuracies and errors in percent (the frames keep fractions), differences in pp', async () => {
    const { runs, epochs } = await loadResults(store);
    const analyses = analyzeResults(runs, epochs);
    // two decimals of the value computed here from the raw errors (rounding of a float mean may differ in the last digit's half)
    const assertPct = (cell: string, expected: number, unit: string, what: string) => {
      assert.ok(cell.endsWith(unit) && /^-?\d+\.\d\d$/.test(cell.slice(0, -unit.length)), `${what}: ${cell}`);
      assert.ok(Math.abs(parseFloat(cell) - expected) <= 0.005 + 1e-9, `${what}: ${cell} vs ${expected}`);
    };
    const cells = (html: string) => [...html.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<t[hd][^>]*>([^<]*)<\/t[hd]>/g)].map((c) => c[1]));
    // per arm: the mean final test error of full-182 by hand, in percent
    const armRows = cells(frameHtml(armFrame(analyses)));
    const col = armRows[0].indexOf('testErrorMean');
    for (const [arm, errors] of Object.entries(FULL)) {
      const row = armRows.find((r) => r[1] === 'full-182' && r[2] === arm)!;
      assertPct(row[col], 100 * mean(errors), '%', arm);
    }
    // comparisons: test-error rows in % and pp, epochs rows as numbers
    const cmp = cells(frameHtml(comparisonFrame(analyses)));
    const h = cmp[0];
    const te = cmp.find((r) => r[h.indexOf('protocol')] === 'full-182' && r[h.indexOf('measure')] === 'final test error' && r[h.indexOf('armA')] === 'cosine-7' && r[h.indexOf('armB')] === 'step')!;
    assertPct(te[h.indexOf('meanA')], 100 * mean(FULL['cosine-7']), '%', 'meanA');
    assertPct(te[h.indexOf('difference')], 100 * (mean(FULL['cosine-7']) - mean(FULL.step)), ' pp', 'difference');
    const ep = cmp.find((r) => r[h.indexOf('protocol')] === 'race-to-85' && r[h.indexOf('measure')] === 'epochs to target')!;
    assert.equal(ep[h.indexOf('meanB')], String(+mean([31, 28, 35, 30]).toPrecision(4)));
    // one row per run: finalTestError in percent; the frame itself holds the fraction
    const rf = runsFrame(runs);
    const rr = cells(frameHtml(rf));
    const fcol = rr[0].indexOf('finalTestError');
    assert.equal(rr.find((r) => r[rr[0].indexOf('arm')] === 'cosine-14' && r[rr[0].indexOf('seed')] === '0')![fcol], '8.80%');
    assert.ok((rf.values as number[][]).some((r) => r.some((v) => typeof v === 'number' && Math.abs(v - 0.088) < 1e-9)), 'fractions in the frame');
    assert.equal(cells(frameHtml(armFrame(analyses), { percent: false })).find((r) => r[2] === 'cosine-14')![col], String(+mean(FULL['cosine-14']).toPrecision(4)));
  });
});
