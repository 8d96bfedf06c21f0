import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { constantLr, cosineAnnealingWarmRestarts, fastaiWarmup, stepDecay, RESNET_PAPER_STEP } from '../src/schedules';

interface Case {
  kind: string; lr: number; iterations: number; values: [number, number][];
  T_0?: number; T_mult?: number; eta_min?: number; milestones?: number[]; gamma?: number;
}
const fixture: { torch: string; cases: Case[] } = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../test/fixtures/schedules-torch.json'), 'utf8'));

test('cosineAnnealingWarmRestarts equals PyTorch CosineAnnealingWarmRestarts to 1e-12', () => {
  const cases = fixture.cases.filter((c) => c.kind === 'cosineAnnealingWarmRestarts');
  assert.ok(cases.length >= 5);
  assert.ok(cases.some((c) => c.T_mult === 2));
  for (const c of cases) {
    const f = cosineAnnealingWarmRestarts({ lrMax: c.lr, lrMin: c.eta_min, cycleLength: c.T_0!, cycleMult: c.T_mult });
    for (const [i, expected] of c.values) {
      assert.ok(Math.abs(f(i) - expected) <= 1e-12, `T_0=${c.T_0} T_mult=${c.T_mult} i=${i}: ${f(i)} vs ${expected}`);
    }
  }
});

test('stepDecay equals PyTorch MultiStepLR, including the paper schedule', () => {
  const cases = fixture.cases.filter((c) => c.kind === 'stepDecay');
  for (const c of cases) {
    const f = stepDecay({ lr: c.lr, milestones: c.milestones!, gamma: c.gamma! });
    for (const [i, expected] of c.values) {
      assert.ok(Math.abs(f(i) - expected) <= 1e-12 * c.lr, `i=${i}: ${f(i)} vs ${expected}`);
    }
  }
  const paper = stepDecay(RESNET_PAPER_STEP);
  assert.equal(paper(31999), 0.1);
  assert.ok(Math.abs(paper(32000) - 0.01) < 1e-15);
  assert.ok(Math.abs(paper(48000) - 0.001) < 1e-15);
});

test('fastai warm-up: lr/100 for the first 1/20 of the first cycle, then the cosine position', () => {
  // fastai 0.7 CosAnneal.calc_lr: iteration < nb/20 -> lr/100; nb = 352 iterations (one epoch of 45k at batch 128)
  const w = fastaiWarmup(352);
  assert.deepEqual(w, { iterations: 18, factor: 0.01 });
  const f = cosineAnnealingWarmRestarts({ lrMax: 0.1, cycleLength: 352, warmup: w });
  assert.equal(f(0), 0.001);
  assert.equal(f(17), 0.001);
  // iteration 18: cos_out = cos(pi*18/352) + 1; lr = 0.1/2*cos_out (numpy value computed independently)
  assert.ok(Math.abs(f(18) - 0.09935617890443556) < 1e-15);
  assert.ok(Math.abs(f(352) - 0.1) < 1e-15, 'restart at the next cycle is not warmed up');
});

test('constantLr and argument errors name the field', () => {
  assert.equal(constantLr({ lr: 0.1 })(12345), 0.1);
  assert.throws(() => constantLr({ lr: 0 }), /lr must be a finite number > 0, got 0/);
  assert.throws(() => constantLr({ lr: -1 }), /lr/);
  assert.throws(() => stepDecay({ lr: 0.1, milestones: [5, 3], gamma: 0.1 }), /strictly increasing/);
  assert.throws(() => cosineAnnealingWarmRestarts({ lrMax: 0.1, cycleLength: 0 }), /cycleLength must be an integer >= 1, got 0/);
  assert.throws(() => cosineAnnealingWarmRestarts({ lrMax: 0.1, cycleLength: 10, cycleMult: 1.5 }), /cycleMult/);
  assert.throws(() => constantLr({ lr: 0.1 })(-1), /iteration must be an integer >= 0, got -1/);
});
