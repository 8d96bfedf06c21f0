/**
 * Power of the two-sided two-sample t-test against R (test/fixtures/power-r.json, written by
 * `Rscript scripts/fixtures/power_r.R`: stats::power.t.test(strict = TRUE) for equal SDs, the same
 * noncentral-t formula with the Welch df for unequal SDs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tTestDetectableDifference, tTestPower, tTestSampleSize } from '../src/analysis/stats';

interface Case { n: number; delta: number; sd?: number; sdA?: number; sdB?: number; alpha: number; power: number; nFor80: number; deltaFor80: number }
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'fixtures', 'power-r.json'), 'utf8')) as { equalSd: Case[]; unequalSd: Case[] };

function close(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${what}: ${actual} vs R ${expected} (relative tolerance ${rel})`);
}

test('power, runs per arm for 80% power and detectable difference match R power.t.test (equal SDs)', () => {
  assert.equal(fixture.equalSd.length, 5);
  for (const c of fixture.equalSd) {
    const o = { alpha: c.alpha };
    const label = `n=${c.n} delta=${c.delta} sd=${c.sd} alpha=${c.alpha}`;
    close(tTestPower(c.n, c.delta, c.sd!, o), c.power, 1e-5, `power ${label}`);
    close(tTestSampleSize(c.delta, c.sd!, 0.8, o), c.nFor80, 1e-4, `n for 80% ${label}`);
    close(tTestDetectableDifference(c.n, c.sd!, 0.8, o), c.deltaFor80, 1e-4, `delta for 80% ${label}`);
  }
});

test('Welch power with unequal SDs matches R (pt with ncp, Welch–Satterthwaite df)', () => {
  assert.equal(fixture.unequalSd.length, 3);
  for (const c of fixture.unequalSd) {
    const o = { alpha: c.alpha, sdB: c.sdB };
    const label = `n=${c.n} delta=${c.delta} sdA=${c.sdA} sdB=${c.sdB}`;
    close(tTestPower(c.n, c.delta, c.sdA!, o), c.power, 1e-5, `power ${label}`);
    close(tTestSampleSize(c.delta, c.sdA!, 0.8, o), c.nFor80, 1e-4, `n for 80% ${label}`);
    close(tTestDetectableDifference(c.n, c.sdA!, 0.8, o), c.deltaFor80, 1e-4, `delta for 80% ${label}`);
  }
});

test('power functions name the bad argument', () => {
  assert.throws(() => tTestPower(1, 1, 1), /tTestPower: n must be a finite number in \(1, ∞\) \(got 1\)/);
  assert.throws(() => tTestPower(5, 1, 0), /tTestPower: sd must be/);
  assert.throws(() => tTestSampleSize(0, 1), /tTestSampleSize: \|delta\| must be/);
  assert.throws(() => tTestDetectableDifference(5, 1, 1.2), /tTestDetectableDifference: power must be/);
});
