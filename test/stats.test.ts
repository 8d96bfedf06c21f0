/**
 * Tests of src/analysis/stats against independent reference values:
 *  - test/fixtures/stats-scipy.json    (scripts/fixtures/stats_scipy.py, SciPy 1.10 / NumPy)
 *  - test/fixtures/stats-survival.json (scripts/fixtures/stats_survival.R, R 4.2 + survival 3.5)
 * plus the documented edge cases.
 */
import { describe as suite, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  chiSquareSf,
  describe,
  hedgesG,
  kaplanMeier,
  logRankTest,
  mannWhitneyU,
  normalCdf,
  normalQuantile,
  normalSf,
  oneSampleTTest,
  studentTCdf,
  studentTQuantile,
  studentTSf,
  welchTTest,
} from '../src/analysis/stats';
import type { LogRankGroup, TestAlternative } from '../src/analysis/stats';

// ------------------------------------------------------------------ fixtures
/* eslint-disable @typescript-eslint/no-explicit-any */
function loadFixture(name: string): any {
  const file = path.join(__dirname, '../../test/fixtures', name);
  // The generators write +-Infinity as strings (JSON has no infinities).
  return JSON.parse(fs.readFileSync(file, 'utf8'), (_k, v) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v));
}
const SCIPY = loadFixture('stats-scipy.json');
const SURV = loadFixture('stats-survival.json');

const REL = 1e-9; // statistics
const P_ABS = 1e-9; // p-values (absolute)

function close(actual: number | null | undefined, expected: number | null, label: string, rel = REL, abs = 0): void {
  if (expected === null) {
    assert.equal(actual, null, `${label}: expected null (R NA), got ${String(actual)}`);
    return;
  }
  assert.equal(typeof actual, 'number', `${label}: expected a number, got ${String(actual)}`);
  const a = actual as number;
  assert.ok(!Number.isNaN(a), `${label}: got NaN`);
  if (!Number.isFinite(expected)) {
    assert.equal(a, expected, `${label}: expected ${expected}, got ${a}`);
    return;
  }
  const err = Math.abs(a - expected);
  assert.ok(err <= abs || err <= rel * Math.abs(expected), `${label}: got ${a}, expected ${expected} (abs err ${err.toExponential(2)})`);
}

function closeArray(actual: readonly (number | null)[], expected: readonly (number | null)[], label: string, rel = REL, abs = 0): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} != ${expected.length}`);
  expected.forEach((e, i) => close(actual[i], e, `${label}[${i}]`, rel, abs));
}

function pClose(actual: number, expected: number, label: string): void {
  close(actual, expected, label, 0, P_ABS);
  assert.ok(actual >= 0 && actual <= 1, `${label}: p = ${actual} outside [0, 1]`);
}

// ------------------------------------------------------------------ distributions
suite('distributions (vs scipy.stats)', () => {
  const D = SCIPY.distributions;
  test('Student t cdf/sf on a (t, df) grid incl. non-integer df: 1e-10 relative', () => {
    for (const r of D.tCdf) {
      close(studentTCdf(r.t, r.df), r.cdf, `t.cdf(${r.t}, ${r.df})`, 1e-10);
      close(studentTSf(r.t, r.df), r.sf, `t.sf(${r.t}, ${r.df})`, 1e-10);
    }
  });
  test('Student t quantile: 1e-11 relative (1e-15 absolute at the median)', () => {
    for (const r of D.tPpf) close(studentTQuantile(r.p, r.df), r.x, `t.ppf(${r.p}, ${r.df})`, 1e-11, 1e-15);
  });
  test('Student t quantile vs closed forms: df = 1 (Cauchy) tan(pi (p - 1/2)) = -cot(pi p); df = 2 (2p - 1)/sqrt(2p(1 - p))', () => {
    for (const p of [1e-8, 0.001, 0.025, 0.05, 0.2, 0.7, 0.95, 0.975, 0.999]) {
      const cauchy = p < 0.5 ? -1 / Math.tan(Math.PI * p) : 1 / Math.tan(Math.PI * (1 - p));
      close(studentTQuantile(p, 1), cauchy, `qt(${p}, 1)`, 1e-12);
      close(studentTQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), `qt(${p}, 2)`, 1e-12);
      close(studentTCdf(studentTQuantile(p, 7.3), 7.3), p, `round trip p = ${p}`, 1e-13);
    }
  });
  test('chi-square sf (jStat): 1e-10 absolute', () => {
    for (const r of D.chi2Sf) close(chiSquareSf(r.x, r.df), r.sf, `chi2.sf(${r.x}, ${r.df})`, 0, 1e-10);
  });
  test('normal cdf/sf (jStat): 1e-15 absolute', () => {
    for (const r of D.normSf) {
      close(normalSf(r.z), r.sf, `norm.sf(${r.z})`, 0, 1e-15);
      close(normalCdf(r.z), r.cdf, `norm.cdf(${r.z})`, 0, 1e-15);
    }
  });
  test('normal quantile (jStat): 1e-12 relative for 1e-6 <= p <= 1 - 1e-6, 1e-6 relative in the far tail', () => {
    for (const r of D.normPpf) {
      const tail = r.p < 1e-6 || r.p > 1 - 1e-6;
      close(normalQuantile(r.p), r.x, `norm.ppf(${r.p})`, tail ? 1e-6 : 1e-12);
    }
  });
  test('edge values and argument errors', () => {
    assert.equal(studentTCdf(Infinity, 3), 1);
    assert.equal(studentTCdf(-Infinity, 3), 0);
    assert.equal(studentTCdf(0, 7.5), 0.5);
    assert.equal(studentTQuantile(0, 4), -Infinity);
    assert.equal(studentTQuantile(1, 4), Infinity);
    assert.equal(studentTQuantile(0.5, 4), 0);
    assert.equal(normalQuantile(0), -Infinity);
    assert.equal(normalQuantile(1), Infinity);
    assert.equal(chiSquareSf(0, 2), 1);
    assert.equal(chiSquareSf(Infinity, 2), 0);
    close(studentTCdf(1.3, Infinity), normalCdf(1.3), 't with df = Infinity is normal', 1e-15);
    assert.throws(() => studentTCdf(NaN, 3), /studentTCdf: t must be a number \(got NaN\)/);
    assert.throws(() => studentTCdf(1, 0), /studentTCdf: df must be a positive number \(got 0\)/);
    assert.throws(() => studentTQuantile(1.2, 3), /studentTQuantile: p must be a probability in \[0, 1\] \(got 1.2\)/);
    assert.throws(() => chiSquareSf(1, -1), /chiSquareSf: df must be a positive number/);
    assert.throws(() => normalQuantile(NaN), /normalQuantile: p must be a probability/);
  });
});

// ------------------------------------------------------------------ Welch t-test
suite('welchTTest (vs scipy.stats.ttest_ind(equal_var=False))', () => {
  for (const c of SCIPY.welch) {
    test(`${c.name} [${c.alternative}, cl=${c.confidenceLevel}]`, () => {
      const r = welchTTest(c.a, c.b, { alternative: c.alternative as TestAlternative, confidenceLevel: c.confidenceLevel });
      const e = c.expected;
      close(r.t, e.t, 't');
      close(r.df, e.df, 'df');
      pClose(r.p, e.p, 'p');
      close(r.meanA, e.meanA, 'meanA', 1e-12);
      close(r.meanB, e.meanB, 'meanB', 1e-12);
      close(r.meanDifference, e.meanDifference, 'meanDifference', 1e-10, 1e-15);
      close(r.se, e.se, 'se');
      closeArray(r.ci, e.ci, 'ci', REL, 1e-15);
      assert.equal(r.nA, e.nA);
      assert.equal(r.nB, e.nB);
      assert.equal(r.note, undefined);
    });
  }
  test('both samples constant, different means: t = +Infinity, p = 0, df = 1 (as SciPy)', () => {
    const c = SCIPY.welchZeroVariance;
    const r = welchTTest(c.a, c.b);
    assert.equal(r.t, c.expected.t);
    assert.equal(r.p, c.expected.p);
    assert.equal(r.df, c.expected.df);
    assert.deepEqual(r.ci, [5, 5]);
    assert.match(r.note ?? '', /constant/);
    assert.equal(welchTTest(c.a, c.b, { alternative: 'greater' }).p, 0);
    assert.equal(welchTTest(c.a, c.b, { alternative: 'less' }).p, 1);
    assert.deepEqual(welchTTest(c.a, c.b, { alternative: 'less' }).ci, [-Infinity, 5]);
  });
  test('both samples constant and equal: t = 0, p = 1 with a note (SciPy: NaN)', () => {
    for (const alternative of ['two-sided', 'less', 'greater'] as const) {
      const r = welchTTest([0.09, 0.09, 0.09], [0.09, 0.09], { alternative });
      assert.equal(r.t, 0);
      assert.equal(r.p, 1);
      assert.equal(r.meanDifference, 0);
      assert.ok(r.note && /equal/.test(r.note));
      assert.ok(r.ci.every((v) => !Number.isNaN(v)));
    }
  });
  test('constant samples are detected exactly (no ~1e-34 rounding variance)', () => {
    const r = welchTTest([0.09, 0.09, 0.09], [0.1, 0.1]);
    assert.equal(r.t, -Infinity);
    assert.equal(r.p, 0);
  });
  test('argument errors name the argument and value', () => {
    assert.throws(() => welchTTest([1], [1, 2]), /welchTTest: a must contain at least 2 values \(got 1\)/);
    assert.throws(() => welchTTest([1, 2], []), /welchTTest: b must contain at least 2 values \(got 0\)/);
    assert.throws(() => welchTTest([1, NaN], [1, 2]), /welchTTest: a\[1\] must be a finite number \(got NaN\)/);
    assert.throws(() => welchTTest([1, 2], [1, Infinity]), /welchTTest: b\[1\] must be a finite number \(got Infinity\)/);
    assert.throws(() => welchTTest([1, 2], [3, 4], { alternative: 'bigger' as TestAlternative }), /alternative must be 'two-sided', 'less' or 'greater' \(got "bigger"\)/);
    assert.throws(() => welchTTest([1, 2], [3, 4], { confidenceLevel: 95 }), /welchTTest: confidenceLevel must be a number strictly between 0 and 1 \(got 95\)/);
  });
});

// ------------------------------------------------------------------ one-sample t-test
suite('oneSampleTTest (vs scipy.stats.ttest_1samp)', () => {
  for (const c of SCIPY.oneSample) {
    test(`${c.name} [${c.alternative}, cl=${c.confidenceLevel}]`, () => {
      const r = oneSampleTTest(c.x, c.mu, { alternative: c.alternative as TestAlternative, confidenceLevel: c.confidenceLevel });
      const e = c.expected;
      close(r.t, e.t, 't');
      assert.equal(r.df, e.df);
      pClose(r.p, e.p, 'p');
      close(r.mean, e.mean, 'mean', 1e-12);
      close(r.se, e.se, 'se');
      closeArray(r.ci, e.ci, 'ci');
      assert.equal(r.n, e.n);
    });
  }
  test('constant sample != mu: t = ±Infinity, p = 0 / 1 by direction, point CI', () => {
    const r = oneSampleTTest([0.09, 0.09, 0.09], 0.0875);
    assert.equal(r.t, Infinity);
    assert.equal(r.p, 0);
    assert.deepEqual(r.ci, [0.09, 0.09]);
    assert.equal(oneSampleTTest([0.09, 0.09, 0.09], 0.0875, { alternative: 'less' }).p, 1);
    assert.equal(oneSampleTTest([0.08, 0.08], 0.0875, { alternative: 'less' }).p, 0);
  });
  test('constant sample == mu: t = 0, p = 1 with a note', () => {
    const r = oneSampleTTest([0.0875, 0.0875], 0.0875);
    assert.equal(r.t, 0);
    assert.equal(r.p, 1);
    assert.ok(r.note);
  });
  test('argument errors', () => {
    assert.throws(() => oneSampleTTest([0.09], 0.0875), /oneSampleTTest: x must contain at least 2 values \(got 1\)/);
    assert.throws(() => oneSampleTTest([0.09, 0.1], NaN), /oneSampleTTest: mu must be a finite number \(got NaN\)/);
    assert.throws(() => oneSampleTTest([0.09, 0.1], 0.1, { confidenceLevel: 1 }), /confidenceLevel must be a number strictly between 0 and 1 \(got 1\)/);
  });
});

// ------------------------------------------------------------------ Hedges' g
suite("hedgesG (Hedges & Olkin 1985 formula, reference from SciPy's pooled t)", () => {
  for (const c of SCIPY.hedges) {
    test(`${c.name} [${c.correction}, cl=${c.confidenceLevel}]`, () => {
      const r = hedgesG(c.a, c.b, { confidenceLevel: c.confidenceLevel, correction: c.correction });
      const e = c.expected;
      close(r.d, e.d, 'd');
      close(r.j, e.j, 'J', 1e-12);
      close(r.g, e.g, 'g');
      close(r.se, e.se, 'se');
      closeArray(r.ci, e.ci, 'ci');
    });
  }
  test('sign: positive when mean(a) > mean(b); antisymmetric', () => {
    const x = [0.092, 0.094, 0.091, 0.095];
    const y = [0.087, 0.089, 0.088, 0.09];
    const r1 = hedgesG(x, y);
    const r2 = hedgesG(y, x);
    assert.ok(r1.g > 0);
    close(r2.g, -r1.g, 'antisymmetry', 1e-12);
    close(r2.ci[0], -r1.ci[1], 'ci antisymmetry', 1e-12);
  });
  test('zero pooled SD throws; n < 2 throws; bad correction throws', () => {
    assert.throws(() => hedgesG([3, 3], [5, 5, 5]), /hedgesG: the pooled standard deviation is 0/);
    assert.throws(() => hedgesG([3], [5, 6, 7]), /hedgesG: a must contain at least 2 values \(got 1\)/);
    assert.throws(() => hedgesG([3, 4], [5, 6], { correction: 'none' as 'exact' }), /hedgesG: correction must be 'approximate' or 'exact' \(got "none"\)/);
  });
});

// ------------------------------------------------------------------ Mann-Whitney U
suite('mannWhitneyU (vs scipy.stats.mannwhitneyu(method="asymptotic"))', () => {
  for (const c of SCIPY.mannWhitney) {
    test(`${c.name} [${c.alternative}, continuity=${c.continuity}]`, () => {
      const r = mannWhitneyU(c.a, c.b, { alternative: c.alternative as TestAlternative, continuity: c.continuity });
      close(r.u, c.expected.u, 'U', 0, 0);
      pClose(r.p, c.expected.p, 'p');
    });
  }
  test('all observations tied: p = 1 with a note (SciPy: p = 1 with continuity, NaN without)', () => {
    const c = SCIPY.mannWhitneyAllTied;
    for (const continuity of [true, false]) {
      const r = mannWhitneyU(c.a, c.b, { continuity });
      assert.equal(r.u, c.expected.u);
      assert.equal(r.p, 1);
      assert.ok(r.note);
    }
  });
  test('argument errors', () => {
    assert.throws(() => mannWhitneyU([], [1, 2]), /mannWhitneyU: a must contain at least 1 value \(got 0\)/);
    assert.throws(() => mannWhitneyU([1], [2, NaN]), /mannWhitneyU: b\[1\] must be a finite number \(got NaN\)/);
    assert.throws(() => mannWhitneyU([1], [2], { continuity: 'yes' as unknown as boolean }), /continuity must be a boolean/);
  });
});

// ------------------------------------------------------------------ describe
suite('describe (vs NumPy)', () => {
  for (const c of SCIPY.describe) {
    test(c.name, () => {
      const r = describe(c.x);
      const e = c.expected;
      assert.equal(r.n, e.n);
      close(r.mean, e.mean, 'mean', 1e-12);
      close(r.median, e.median, 'median', 1e-12);
      close(r.sd, e.sd, 'sd', 1e-12);
      assert.equal(r.min, e.min);
      assert.equal(r.max, e.max);
      close(r.q1, e.q1, 'q1', 1e-12);
      close(r.q3, e.q3, 'q3', 1e-12);
    });
  }
  test('empty input throws; input is not mutated', () => {
    assert.throws(() => describe([]), /describe: x must contain at least 1 value \(got 0\)/);
    const x = [3, 1, 2];
    describe(x);
    assert.deepEqual(x, [3, 1, 2]);
  });
});

// ------------------------------------------------------------------ Kaplan-Meier
suite('kaplanMeier (vs R survival::survfit / summary / print)', () => {
  for (const c of SURV.kaplanMeier) {
    test(`${c.name} [${c.confType}, cl=${c.confidenceLevel}]`, () => {
      const r = kaplanMeier(c.times, c.events, { confType: c.confType, confidenceLevel: c.confidenceLevel });
      const e = c.expected;
      assert.equal(r.n, e.n);
      assert.equal(r.nEvents, e.nEvents);
      closeArray(r.time, e.time, 'time', 0);
      assert.deepEqual(r.atRisk, e.atRisk);
      assert.deepEqual(r.events, e.events);
      assert.deepEqual(r.censored, e.censored);
      closeArray(r.survival, e.survival, 'survival', REL, 1e-15);
      closeArray(r.stdErr, e.stdErr, 'stdErr', REL, 1e-15);
      closeArray(r.lower, e.lower, 'lower', REL, 1e-15);
      closeArray(r.upper, e.upper, 'upper', REL, 1e-15);
      close(r.median.estimate, e.median.estimate, 'median', 1e-12);
      close(r.median.lower, e.median.lower, 'median lower', 1e-12);
      close(r.median.upper, e.median.upper, 'median upper', 1e-12);
      assert.equal(r.nEvents + r.nCensored, r.n);
      assert.equal(r.censorTimes.length, r.nCensored);
    });
  }
  test('all censored: empty curve, median null, note', () => {
    const r = kaplanMeier([40, 40, 40], [0, 0, 0]);
    assert.deepEqual(r.time, []);
    assert.deepEqual(r.survival, []);
    assert.deepEqual(r.median, { estimate: null, lower: null, upper: null });
    assert.deepEqual(r.censorTimes, [40, 40, 40]);
    assert.ok(r.note);
  });
  test('censorTimes lists every censored observation, sorted', () => {
    const r = kaplanMeier([7, 3, 9, 3, 12, 5, 7, 15, 2, 9], [1, 0, 1, 1, 0, 1, 1, 0, 1, 0]);
    assert.deepEqual(r.censorTimes, [3, 9, 12, 15]);
    assert.equal(r.nCensored, 4);
  });
  test('timefix: false keeps 0.1 + 0.2 and 0.3 apart', () => {
    const times = [0.1 + 0.2, 0.3, 0.5];
    assert.deepEqual(kaplanMeier(times, [1, 1, 1]).time, [0.3, 0.5]);
    assert.deepEqual(kaplanMeier(times, [1, 1, 1], { timefix: false }).time, [0.3, 0.1 + 0.2, 0.5]);
  });
  test('argument errors', () => {
    assert.throws(() => kaplanMeier([], []), /kaplanMeier: times must contain at least 1 value \(got 0\)/);
    assert.throws(() => kaplanMeier([1, 2], [1]), /kaplanMeier: events must have the same length as the times \(2\), got 1/);
    assert.throws(() => kaplanMeier([1, 2], [1, 2 as 1]), /kaplanMeier: events\[1\] must be 0 \(censored\) or 1 \(event\) \(got 2\)/);
    assert.throws(() => kaplanMeier([1, NaN], [1, 1]), /kaplanMeier: times\[1\] must be a finite number \(got NaN\)/);
    assert.throws(() => kaplanMeier([1, 2], [1, 1], { confType: 'logit' as 'log' }), /confType must be 'log', 'log-log' or 'plain' \(got "logit"\)/);
  });
});

// ------------------------------------------------------------------ log-rank
suite('logRankTest (vs R survival::survdiff, rho = 0)', () => {
  const run = (c: any) => logRankTest(c.groups as LogRankGroup[]);
  for (const c of SURV.logRank) {
    test(c.name, () => {
      const r = run(c);
      const e = c.expected;
      close(r.chiSquare, e.chiSquare, 'chiSquare', REL, 1e-12);
      assert.equal(r.df, e.df);
      pClose(r.p, e.p, 'p');
      closeArray(r.observed, e.observed, 'observed', 0);
      closeArray(r.expected, e.expected, 'expected', REL, 1e-12);
      e.variance.forEach((row: number[], i: number) => closeArray(r.variance[i], row, `variance[${i}]`, REL, 1e-12));
      assert.equal(r.note, undefined);
    });
  }
  test('only one group with expected > 0: chiSquare 0, df 0, p 1 (as R) with a note', () => {
    const c = SURV.logRankDegenerate;
    const r = run(c);
    assert.equal(r.chiSquare, c.expected.chiSquare);
    assert.equal(r.df, c.expected.df);
    assert.equal(r.p, c.expected.p);
    closeArray(r.expected, c.expected.expected, 'expected');
    assert.ok(r.note);
  });
  test('no events at all: chiSquare 0, df 0, p 1 with a note (R: df -1, p NaN)', () => {
    const r = logRankTest([{ times: [40, 40], events: [0, 0] }, { times: [40, 40, 40], events: [0, 0, 0] }]);
    assert.deepEqual([r.chiSquare, r.df, r.p], [0, 0, 1]);
    assert.ok(r.note && /no events/.test(r.note));
  });
  test('singular variance (everyone at risk fails at once) throws', () => {
    assert.throws(() => logRankTest([{ times: [5], events: [1] }, { times: [5], events: [1] }]), /logRankTest: the variance matrix of observed - expected is singular/);
  });
  test('argument errors', () => {
    assert.throws(() => logRankTest([{ times: [1, 2], events: [1, 1] }]), /logRankTest: groups must be an array of at least 2 groups \(got 1\)/);
    assert.throws(() => logRankTest([{ times: [1, 2], events: [1, 1] }, { times: [], events: [] }]), /logRankTest: groups\[1\]\.times must contain at least 1 value \(got 0\)/);
    assert.throws(() => logRankTest([{ times: [1, 2], events: [1, 1] }, { times: [3], events: [1, 0] }]), /logRankTest: groups\[1\]\.events must have the same length as the times \(1\), got 2/);
  });
});
