/**
 * Data (not styling) of the chart builders on small hand-made runs; every expected value below
 * was computed by hand (type-7 quartiles: h = (n - 1) p, linear interpolation).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { EpochRecord, RunRecord } from '../src/store/types';
import {
  armColors,
  kaplanMeierFigure,
  scheduleFigure,
  testErrorFigure,
  timeToTargetFigure,
  timeToTargetPoints,
  validationCurvesFigure,
  type PlotlyFigure,
  type PlotlyTrace,
} from '../src/analysis/charts';

function run(p: Partial<RunRecord> & Pick<RunRecord, 'runId' | 'arm'>): RunRecord {
  return {
    protocol: 'test',
    seed: 0,
    config: {},
    backend: 'cpu',
    status: 'completed',
    target: 0.85,
    epochsToTarget: null,
    iterationsToTarget: null,
    secondsToTarget: null,
    epochsCompleted: 0,
    finalTestAccuracy: null,
    bestValidationAccuracy: null,
    testAccuracyAtBestValidation: null,
    error: null,
    startedAt: '2024-01-01T00:00:00Z',
    finishedAt: null,
    ...p,
  };
}

function epochRows(runId: string, accs: number[], secondsPerEpoch = 10): EpochRecord[] {
  return accs.map((a, i) => ({
    runId,
    epoch: i + 1,
    iteration: (i + 1) * 352,
    learningRate: 0.1,
    trainLoss: 1,
    trainAccuracy: a,
    validationLoss: 1,
    validationAccuracy: a,
    testLoss: 1,
    testAccuracy: a,
    trainSeconds: (i + 1) * secondsPerEpoch,
    totalSeconds: (i + 1) * secondsPerEpoch + 1, trainCpuSeconds: null, totalCpuSeconds: null,
  }));
}

function trace(fig: PlotlyFigure, name: string): PlotlyTrace {
  const t = fig.data.find((d) => d.name === name);
  assert.ok(t, `trace "${name}" not found; have: ${fig.data.map((d) => d.name).join(' | ')}`);
  return t;
}

function near(actual: unknown, expected: number[], tol = 1e-9): void {
  assert.ok(Array.isArray(actual), 'expected an array');
  assert.equal(actual.length, expected.length, `length ${actual.length} != ${expected.length}: ${JSON.stringify(actual)}`);
  actual.forEach((v, i) => assert.ok(Math.abs((v as number) - expected[i]) <= tol, `[${i}] ${String(v)} != ${expected[i]}`));
}

function assertJsonSerialisable(fig: PlotlyFigure): void {
  const round = JSON.parse(JSON.stringify(fig));
  assert.deepEqual(round, fig);
}

// step: 30, 32 reached; s3 censored after 40 epochs. cosine: 20, 21, 23, 25.
const RUNS: RunRecord[] = [
  run({ runId: 's1', arm: 'step', seed: 1, epochsToTarget: 30, secondsToTarget: 300, epochsCompleted: 30 }),
  run({ runId: 's2', arm: 'step', seed: 2, epochsToTarget: 32, secondsToTarget: 330, epochsCompleted: 32 }),
  run({ runId: 's3', arm: 'step', seed: 3, status: 'censored', epochsCompleted: 40 }),
  run({ runId: 'c1', arm: 'cosine', seed: 1, epochsToTarget: 20, secondsToTarget: 200, epochsCompleted: 20 }),
  run({ runId: 'c2', arm: 'cosine', seed: 2, epochsToTarget: 21, secondsToTarget: 210, epochsCompleted: 21 }),
  run({ runId: 'c3', arm: 'cosine', seed: 3, epochsToTarget: 23, secondsToTarget: 230, epochsCompleted: 23 }),
  run({ runId: 'c4', arm: 'cosine', seed: 4, epochsToTarget: 25, secondsToTarget: 250, epochsCompleted: 25 }),
];

describe('scheduleFigure', () => {
  it('plots precomputed learning rates per iteration', () => {
    const fig = scheduleFigure([{ name: 'a', learningRates: [1, 1, 1, 0.5, 0.5] }], { maxPoints: Infinity });
    const t = trace(fig, 'a');
    assert.deepEqual(t.x, [0, 1, 2, 3, 4]);
    assert.deepEqual(t.y, [1, 1, 1, 0.5, 0.5]);
    assertJsonSerialisable(fig);
  });

  it('evaluates schedule functions, downsamples, keeps both sides of jumps, and labels epochs', () => {
    const fn = (i: number) => (i < 50 ? 1 : 0.1);
    const fig = scheduleFigure(
      [
        { name: 'step', schedule: fn },
        { name: 'const', schedule: () => 0.05, iterations: 20 },
      ],
      { iterations: 100, maxPoints: 10, iterationsPerEpoch: 10 },
    );
    const t = trace(fig, 'step');
    // stride ceil(100/10) = 10: 0, 10, ..., 90; last 99; the jump between 49 and 50.
    assert.deepEqual(t.x, [0, 10, 20, 30, 40, 49, 50, 60, 70, 80, 90, 99]);
    assert.deepEqual(t.y, [1, 1, 1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
    const c = trace(fig, 'const');
    // 20 iterations, stride ceil(20/10) = 2, plus the last one; a constant has no jumps.
    assert.deepEqual(c.x, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 19]);
    assert.ok((c.y as number[]).every((v) => v === 0.05));
    const x2 = fig.layout.xaxis2 as { tickvals: number[]; ticktext: string[]; overlaying: string };
    assert.equal(x2.overlaying, 'x');
    assert.deepEqual(x2.tickvals, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    assert.deepEqual(x2.ticktext, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assertJsonSerialisable(fig);
  });

  it('requires iterations for schedule functions', () => {
    assert.throws(() => scheduleFigure([{ name: 'x', schedule: () => 1 }]), /iterations/);
  });
});

describe('validationCurvesFigure', () => {
  const epochs: EpochRecord[] = [
    ...epochRows('s1', [0.5, 0.6, 0.7]),
    ...epochRows('s2', [0.4, 0.65, 0.8]),
    ...epochRows('s3', [0.3, 0.55]),
    ...epochRows('c1', [0.6, 0.9]),
    ...epochRows('c2', [0.7, 0.86]),
    ...epochRows('zz', [0.99]), // run not in the list: ignored
  ];
  const runs = RUNS.filter((r) => ['s1', 's2', 's3', 'c1', 'c2'].includes(r.runId));
  const fig = validationCurvesFigure(epochs, runs, { target: 0.85 });

  it('draws one thin line per run, in %', () => {
    const runLines = fig.data.filter((d) => (d.meta as { runId?: string } | undefined)?.runId !== undefined);
    assert.equal(runLines.length, 5);
    const s2 = runLines.find((d) => (d.meta as { runId: string }).runId === 's2')!;
    assert.deepEqual(s2.x, [1, 2, 3]);
    near(s2.y, [40, 65, 80]);
  });

  it('per-arm median and interquartile band, a stopped run carried forward at its last value', () => {
    // step, epoch 1: [0.3, 0.4, 0.5] -> Q1 0.35, median 0.4, Q3 0.45
    // step, epoch 2: [0.55, 0.6, 0.65] -> 0.575, 0.6, 0.625
    // step, epoch 3: s3 (censored) stopped after epoch 2 and counts at 0.55:
    //   [0.55, 0.7, 0.8] -> Q1 0.625, median 0.7, Q3 0.75
    assert.deepEqual(trace(fig, 'step median').x, [1, 2, 3]);
    near(trace(fig, 'step median').y, [40, 60, 70]);
    near(trace(fig, 'step Q1').y, [35, 57.5, 62.5]);
    near(trace(fig, 'step IQR').y, [45, 62.5, 75]);
    const meta = trace(fig, 'step median').meta as { n: number[]; training: number[]; carried: number[] };
    assert.deepEqual(meta.n, [3, 3, 3]);
    assert.deepEqual(meta.training, [3, 3, 2]);
    assert.deepEqual(meta.carried, [0, 0, 1]);
    assert.match(JSON.stringify(fig.layout.title), /carried forward/);
    assert.equal(trace(fig, 'step IQR').fill, 'tonexty');
    // The band fills down to the Q1 trace, which must come right before it.
    const i = fig.data.indexOf(trace(fig, 'step IQR'));
    assert.equal(fig.data[i - 1].name, 'step Q1');
    // cosine, epoch 2: [0.86, 0.9] -> median 0.88, Q1 0.87, Q3 0.89
    near(trace(fig, 'cosine median').y, [65, 88]);
    near(trace(fig, 'cosine Q1').y, [62.5, 87]);
    near(trace(fig, 'cosine IQR').y, [67.5, 89]);
  });

  it('target line at 85%', () => {
    const t = trace(fig, 'target 85%');
    near(t.y, [85, 85]);
    assert.equal((t.x as number[])[0], 0);
    assert.equal((t.x as number[])[1], 3);
  });

  it('minRuns drops epochs with too few runs (carried runs count)', () => {
    const f = validationCurvesFigure(epochs, runs, { minRuns: 3 });
    assert.deepEqual(trace(f, 'step median').x, [1, 2, 3]);
    assert.equal(f.data.find((d) => d.name === 'cosine median'), undefined);
    const g = validationCurvesFigure(epochs, runs, { minRuns: 3, carryForward: false });
    assert.deepEqual(trace(g, 'step median').x, [1, 2]);
    assertJsonSerialisable(f);
  });

  it('runs that stop at the target keep counting, so the median is not that of the slow runs', () => {
    // f1, f2 reach 0.85 at epoch 2 and stop; slow runs on to epoch 4; r1 is still running and
    // x1 failed: neither is carried forward.
    const rs = [
      run({ runId: 'f1', arm: 'a', status: 'completed', epochsToTarget: 2, epochsCompleted: 2 }),
      run({ runId: 'f2', arm: 'a', status: 'completed', epochsToTarget: 2, epochsCompleted: 2 }),
      run({ runId: 'sl', arm: 'a', status: 'censored', epochsCompleted: 4 }),
      run({ runId: 'r1', arm: 'b', status: 'running', epochsCompleted: 1 }),
      run({ runId: 'r2', arm: 'b', status: 'censored', epochsCompleted: 3 }),
      run({ runId: 'x1', arm: 'b', status: 'failed', epochsCompleted: 1 }),
    ];
    const ep = [
      ...epochRows('f1', [0.5, 0.9]),
      ...epochRows('f2', [0.55, 0.88]),
      ...epochRows('sl', [0.3, 0.5, 0.6, 0.7]),
      ...epochRows('r1', [0.2]),
      ...epochRows('r2', [0.4, 0.5, 0.6]),
      ...epochRows('x1', [0.1]),
    ];
    const f = validationCurvesFigure(ep, rs);
    const a = trace(f, 'a median');
    assert.deepEqual(a.x, [1, 2, 3, 4]);
    // epoch 3: [0.9, 0.88, 0.6] -> 0.88; epoch 4: [0.9, 0.88, 0.7] -> 0.88 (survivors only: 0.6, 0.7)
    near(a.y, [50, 88, 88, 88]);
    assert.deepEqual((a.meta as { carried: number[] }).carried, [0, 0, 2, 2]);
    // b: r1 (running) and x1 (failed) are not carried: epochs 2, 3 have r2 only
    near(trace(f, 'b median').y, [20, 50, 60]);
    assert.deepEqual((trace(f, 'b median').meta as { n: number[] }).n, [3, 1, 1]);
    // the survivors-only statistic on request, said in the subtitle
    const g = validationCurvesFigure(ep, rs, { carryForward: false });
    near(trace(g, 'a median').y, [50, 88, 60, 70]);
    assert.match(JSON.stringify(g.layout.title), /runs still training at each epoch only/);
    assert.doesNotMatch(JSON.stringify(g.layout.title), /carried forward/);
  });
});

describe('validation curves: legend entries only for what is drawn', () => {
  it('an arm with one run has no IQR band and no IQR legend entry; an arm with a band has both', () => {
    const rs = [run({ runId: 'o1', arm: 'one', status: 'completed', epochsCompleted: 2 }), run({ runId: 't1', arm: 'two', status: 'completed', epochsCompleted: 2 }), run({ runId: 't2', arm: 'two', status: 'completed', epochsCompleted: 2 })];
    const f = validationCurvesFigure([...epochRows('o1', [0.2, 0.3]), ...epochRows('t1', [0.2, 0.3]), ...epochRows('t2', [0.4, 0.5])], rs);
    assert.equal(trace(f, 'one IQR').showlegend, false);
    assert.equal(trace(f, 'two IQR').showlegend, true);
  });
});

describe('timeToTargetFigure', () => {
  it('converts runs to (time, reached) observations with censoring at epochsCompleted', () => {
    const { points, excluded } = timeToTargetPoints(
      [...RUNS, run({ runId: 'd1', arm: 'step', status: 'diverged', epochsCompleted: 3 })],
      'epochs',
    );
    assert.deepEqual(
      points.filter((p) => p.arm === 'step').map((p) => [p.runId, p.time, p.reached]),
      [
        ['s1', 30, true],
        ['s2', 32, true],
        ['s3', 40, false],
      ],
    );
    assert.deepEqual(excluded.map((e) => e.runId), ['d1']);
  });

  it('by default boxes are over the runs that reached the target; the subtitle counts the censored lower bounds', () => {
    const fig = timeToTargetFigure(RUNS, { metric: 'epochs', minBoxRuns: 1 });
    // step: reached [30, 32] -> Q1 30.5, median 31, Q3 31.5 (s3, censored at 40, not in the box)
    const stepBox = fig.data.find((d) => d.type === 'box' && d.name === 'step')!;
    near(stepBox.q1, [30.5]);
    near(stepBox.median, [31]);
    near(stepBox.q3, [31.5]);
    near(stepBox.upperfence, [32]);
    assert.deepEqual(stepBox.meta, { arm: 'step', n: 2, includesCensored: false });
    near(fig.data.find((d) => d.type === 'box' && d.name === 'cosine')!.median, [22]);
    // the censored run is still drawn, as an open marker at 40
    const censored = fig.data.filter((d) => (d.meta as { censored?: boolean } | undefined)?.censored === true);
    assert.deepEqual(censored.map((c) => c.y), [[40]]);
    const sub = (fig.layout.title as { subtitle: { text: string } }).subtitle.text;
    assert.match(sub, /of the runs that reached 85% \(filled points, 6 in all\)/);
    assert.match(sub, /1 censored run \(never reached 85%\) plotted as lower bound .*not in the boxes/);
  });

  it('no box for an arm whose runs are all censored; none at all when no run reached the target', () => {
    const rs = [
      ...RUNS.filter((r) => r.arm === 'cosine'),
      run({ runId: 'x1', arm: 'step', status: 'censored', epochsCompleted: 40 }),
      run({ runId: 'x2', arm: 'step', status: 'censored', epochsCompleted: 40 }),
    ];
    const fig = timeToTargetFigure(rs, { minBoxRuns: 1 });
    assert.deepEqual(fig.data.filter((d) => d.type === 'box').map((d) => d.name), ['cosine']);
    assert.match((fig.layout.title as { subtitle: { text: string } }).subtitle.text, /no box for step \(all its runs censored\)/);
    assert.match((fig.layout.title as { subtitle: { text: string } }).subtitle.text, /2 censored runs/);
    const none = timeToTargetFigure(rs.filter((r) => r.arm === 'step'), { minBoxRuns: 1 });
    assert.equal(none.data.filter((d) => d.type === 'box').length, 0);
    assert.match((none.layout.title as { text: string }).text, /no run reached the target/);
    assert.match((none.layout.title as { subtitle: { text: string } }).subtitle.text, /no box: all 2 runs censored/);
    assert.deepEqual(none.data.map((d) => d.y), [[40, 40]]);
  });

  it('no boxes for arms with fewer than 5 box values (points only), and the subtitle says so; an arm with 5 gets its box', () => {
    // RUNS: step 2 reached + 1 censored, cosine 4 reached: below 5, points only
    const fig = timeToTargetFigure(RUNS);
    assert.equal(fig.data.filter((d) => d.type === 'box').length, 0);
    const sub = (fig.layout.title as { subtitle: { text: string } }).subtitle.text;
    assert.match(sub, /filled points: the 6 runs that reached 85%; no boxes \(fewer than 5 runs per arm\)/);
    assert.doesNotMatch(sub, /not in the boxes/);
    const five = [...RUNS, run({ runId: 'c5', arm: 'cosine', status: 'completed', epochsToTarget: 24, secondsToTarget: 240 })];
    const g = timeToTargetFigure(five);
    assert.deepEqual(g.data.filter((d) => d.type === 'box').map((d) => [d.name, (d.meta as { n: number }).n]), [['cosine', 5]]);
    assert.match((g.layout.title as { subtitle: { text: string } }).subtitle.text, /points only for step \(fewer than 5 runs\)/);
  });

  it('box statistics per arm including censored runs when asked, censored points marked separately', () => {
    const fig = timeToTargetFigure(RUNS, { metric: 'epochs', boxIncludesCensored: true, minBoxRuns: 1 });
    const arms = (fig.layout.xaxis as { ticktext: string[] }).ticktext;
    assert.deepEqual(arms, ['cosine', 'step']);
    // step (censored included at 40): [30, 32, 40] -> Q1 31, median 32, Q3 36
    const stepBox = fig.data.find((d) => d.type === 'box' && d.name === 'step')!;
    assert.deepEqual(stepBox.x, [1]);
    near(stepBox.q1, [31]);
    near(stepBox.median, [32]);
    near(stepBox.q3, [36]);
    near(stepBox.lowerfence, [30]);
    near(stepBox.upperfence, [40]);
    // cosine: [20, 21, 23, 25] -> Q1 20.75, median 22, Q3 23.5, mean 22.25
    const cosBox = fig.data.find((d) => d.type === 'box' && d.name === 'cosine')!;
    near(cosBox.q1, [20.75]);
    near(cosBox.median, [22]);
    near(cosBox.q3, [23.5]);
    near(cosBox.mean, [22.25]);

    const reached = fig.data.find((d) => d.type === 'scatter' && (d.meta as { arm: string; censored: boolean }).arm === 'step' && !(d.meta as { censored: boolean }).censored)!;
    assert.deepEqual(reached.y, [30, 32]);
    assert.deepEqual(reached.customdata, ['s1', 's2']);
    const censored = fig.data.filter((d) => (d.meta as { censored?: boolean } | undefined)?.censored === true);
    assert.equal(censored.length, 1, 'only the step arm has censored runs');
    assert.deepEqual(censored[0].y, [40]);
    assert.deepEqual(censored[0].customdata, ['s3']);
    assert.match(String(censored[0].name), /censored/);
    assert.match(String((censored[0].marker as { symbol: string }).symbol), /open/);
    assert.notEqual((censored[0].marker as { symbol: string }).symbol, (reached.marker as { symbol: string }).symbol);
    // points jittered around their arm position (step = 1)
    for (const x of [...(reached.x as number[]), ...(censored[0].x as number[])]) assert.ok(Math.abs(x - 1) <= 0.15 + 1e-12);
    assertJsonSerialisable(fig);
  });

  it('box of reached runs only when boxIncludesCensored is false', () => {
    const fig = timeToTargetFigure(RUNS, { boxIncludesCensored: false, minBoxRuns: 1 });
    const stepBox = fig.data.find((d) => d.type === 'box' && d.name === 'step')!;
    near(stepBox.median, [31]);
    assert.match(JSON.stringify(timeToTargetFigure(RUNS, { boxIncludesCensored: true, minBoxRuns: 1 }).layout.title), /censoring times counted as if measured/);
  });

  it('seconds: censored runs at their last trainSeconds when epochs are given, else excluded', () => {
    const epochs = epochRows('s3', [0.1, 0.2, 0.3, 0.4], 12.5); // last trainSeconds 50
    const fig = timeToTargetFigure(RUNS, { metric: 'seconds', epochs, minBoxRuns: 1 });
    const censored = fig.data.find((d) => (d.meta as { censored?: boolean } | undefined)?.censored === true)!;
    assert.deepEqual(censored.y, [50]);
    const noEpochs = timeToTargetFigure(RUNS, { metric: 'seconds', minBoxRuns: 1 });
    assert.equal(noEpochs.data.filter((d) => (d.meta as { censored?: boolean } | undefined)?.censored === true).length, 0);
    assert.match(JSON.stringify(noEpochs.layout.annotations), /not shown: 1 run/);
    const stepBox = noEpochs.data.find((d) => d.type === 'box' && d.name === 'step')!;
    near(stepBox.median, [315]); // [300, 330]
  });
});

describe('kaplanMeierFigure', () => {
  it('step curves from (0, 1) with censor ticks derived from atRisk / events', () => {
    // step: 30 (event), 32 (event), 40 (censored): S = 2/3, 1/3, 1/3
    const fig = kaplanMeierFigure([
      { arm: 'step', time: [30, 32, 40], survival: [2 / 3, 1 / 3, 1 / 3], atRisk: [3, 2, 1], events: [1, 1, 0] },
      { arm: 'cosine', time: [20, 21, 23, 25], survival: [0.75, 0.5, 0.25, 0], atRisk: [4, 3, 2, 1], events: [1, 1, 1, 1] },
    ]);
    const step = trace(fig, 'step (n=3)');
    assert.equal(step.line && (step.line as { shape: string }).shape, 'hv');
    assert.deepEqual(step.x, [0, 30, 32, 40]);
    near(step.y, [1, 2 / 3, 1 / 3, 1 / 3]);
    const cens = trace(fig, 'step censored (n=1)');
    assert.deepEqual(cens.x, [40]);
    near(cens.y, [1 / 3]);
    const cos = trace(fig, 'cosine (n=4)');
    // ends at cosine's own last observation (25), not at step's 40
    assert.deepEqual(cos.x, [0, 20, 21, 23, 25]);
    near(cos.y, [1, 0.75, 0.5, 0.25, 0]);
    assert.equal((cos.meta as { lastObservation: number }).lastObservation, 25);
    assert.equal((step.meta as { lastObservation: number }).lastObservation, 40);
    // the axis still spans every arm
    assert.equal((fig.layout.xaxis as { range: number[] }).range[1], 40 * 1.02);
    assert.equal(fig.data.find((d) => d.name === 'cosine censored (n=0)'), undefined);
    near(trace(fig, 'median (0.5)').y, [0.5, 0.5]);
    assertJsonSerialisable(fig);
  });

  it("accepts the statistics module's shape: event times only, censorTimes, CI with nulls", () => {
    // runs: 10 (event), 12 (censored), 15 (event), 20 (censored), 20 (censored); n = 5
    // S(10) = 4/5 = 0.8; at 15 at risk 3 -> S = 0.8 * 2/3 = 0.533333...
    const fig = kaplanMeierFigure([
      {
        arm: 'cosine',
        n: 5,
        time: [10, 15],
        atRisk: [5, 3],
        events: [1, 1],
        censored: [0, 1], // interval counts in (10, 15]: must not be used when censorTimes exist
        survival: [0.8, 0.8 * (2 / 3)],
        censorTimes: [12, 20, 20],
        lower: [0.5, null],
        upper: [1, null],
      },
    ]);
    const line = trace(fig, 'cosine (n=5)');
    assert.deepEqual(line.x, [0, 10, 15, 20]);
    near(line.y, [1, 0.8, 0.5333333333, 0.5333333333], 1e-9);
    const cens = trace(fig, 'cosine censored (n=3)');
    assert.deepEqual(cens.x, [12, 20, 20]);
    near(cens.y, [0.8, 0.5333333333, 0.5333333333], 1e-9);
    // band: null lower -> 0, null upper -> S; extended to the end
    assert.deepEqual(trace(fig, 'cosine CI lower').x, [0, 10, 15, 20]);
    near(trace(fig, 'cosine CI lower').y, [1, 0.5, 0, 0]);
    near(trace(fig, 'cosine CI').y, [1, 1, 0.5333333333, 0.5333333333], 1e-9);
    assert.equal(trace(fig, 'cosine CI').fill, 'tonexty');
    assertJsonSerialisable(fig);
  });

  it("each arm's curve and band end at its own last event or censoring time", () => {
    // a: events 5, 8; censored at 12 -> ends at 12. b: event 3, censored 4 -> ends at 4. c: event 30.
    const fig = kaplanMeierFigure([
      { arm: 'a', time: [5, 8], survival: [0.667, 0.333], censorTimes: [12], lower: [0.2, 0.05], upper: [1, 0.9] },
      { arm: 'b', time: [3], survival: [0.5], censorTimes: [4], lower: [0.1], upper: [1] },
      { arm: 'c', time: [30], survival: [0], censorTimes: [] },
    ], { showMedianLine: false });
    assert.deepEqual(trace(fig, 'a').x, [0, 5, 8, 12]);
    assert.deepEqual(trace(fig, 'a CI').x, [0, 5, 8, 12]);
    assert.deepEqual(trace(fig, 'b').x, [0, 3, 4]);
    near(trace(fig, 'b').y, [1, 0.5, 0.5]);
    assert.deepEqual(trace(fig, 'b CI lower').x, [0, 3, 4]);
    assert.deepEqual(trace(fig, 'c').x, [0, 30]);
    for (const name of ['a', 'b', 'a CI', 'b CI', 'a CI lower', 'b CI lower']) {
      assert.ok(Math.max(...(trace(fig, name).x as number[])) <= { a: 12, b: 4 }[name[0] as 'a' | 'b'], name);
    }
    // maxTime only sets the axis
    const wide = kaplanMeierFigure([{ arm: 'b', time: [3], survival: [0.5], censorTimes: [4] }], { maxTime: 100 });
    assert.deepEqual(trace(wide, 'b').x, [0, 3, 4]);
    assert.equal((wide.layout.xaxis as { range: number[] }).range[1], 102);
  });

  it('explicit censorTimes place ticks on the curve', () => {
    const fig = kaplanMeierFigure([{ arm: 'a', time: [10], survival: [0.5], censorTimes: [5, 12] }], { showMedianLine: false });
    const c = trace(fig, 'a censored (n=2)');
    assert.deepEqual(c.x, [5, 12]);
    near(c.y, [1, 0.5]);
    assert.deepEqual(trace(fig, 'a').x, [0, 10, 12]);
  });
});

describe('testErrorFigure', () => {
  const runs: RunRecord[] = [
    // errors 9, 10, 8 -> mean 9, sd 1; t(0.975, 2) = 4.302653 -> half width 4.302653 / sqrt(3) = 2.484138
    run({ runId: 'a1', arm: 'sgdr-cycle7', finalTestAccuracy: 0.91 }),
    run({ runId: 'a2', arm: 'sgdr-cycle7', finalTestAccuracy: 0.9 }),
    run({ runId: 'a3', arm: 'sgdr-cycle7', finalTestAccuracy: 0.92 }),
    // errors 8.9, 8.7 -> mean 8.8, sd 0.141421; t(0.975, 1) = 12.706205 -> half width 1.2706205
    // cycle length only in the config (arm name says nothing)
    run({ runId: 'b1', arm: 'long', config: { schedule: { name: 'sgdr', cycleLength: 14 } }, finalTestAccuracy: 0.911 }),
    run({ runId: 'b2', arm: 'long', config: { schedule: { name: 'sgdr', cycleLength: 14 } }, finalTestAccuracy: 0.913 }),
    run({ runId: 'b3', arm: 'long', config: { schedule: { name: 'sgdr', cycleLength: 14 } }, finalTestAccuracy: null }),
  ];
  const fig = testErrorFigure(runs);

  it("the original study's labels sit above a diamond over the paper's line and below one under it, never on the line", () => {
    const rs = [run({ runId: 'p1', arm: 'cosine-7', finalTestAccuracy: 0.9 }), run({ runId: 'p2', arm: 'cosine-14', finalTestAccuracy: 0.9 })];
    const fig = testErrorFigure(rs, { originalStudy: { 'cosine-7': 9.02, 'cosine-14': 8.5 } });
    const orig = fig.data.find((d) => String(d.name).startsWith('original study'))!;
    assert.deepEqual(orig.text, ['9.02%', '8.50%']);
    assert.deepEqual(orig.textposition, ['top right', 'bottom right']);
  });

  it("the y range leaves room above the original study's label (Plotly's autorange ignores text)", () => {
    // one run at 8.72% (no CI), the original study's 8.90% with its label above, the paper's 8.75%
    const rs = [run({ runId: 'q1', arm: 'cosine-14', finalTestAccuracy: 0.9128 })];
    const f = testErrorFigure(rs, { originalStudy: { 'cosine-14': 8.9 } });
    const [lo, hi] = (f.layout.yaxis as { range: [number, number] }).range;
    // span of the drawn values 8.72..8.90 = 0.18 pp; a fifth of it is under the 0.05 pp floor
    near([lo, hi], [8.67, 8.95], 1e-9);
  });

  it('per-run errors in % and mean with 95% Student-t CI', () => {
    const pts = trace(fig, 'sgdr-cycle7 runs (n=3)');
    near(pts.y, [9, 10, 8]);
    const m = trace(fig, 'sgdr-cycle7 mean ± 95% CI');
    near(m.y, [9]);
    near((m.error_y as { array: number[] }).array, [2.484138], 1e-5);
    const meta = m.meta as { lower: number; upper: number; n: number };
    assert.ok(Math.abs(meta.lower - 6.515862) < 1e-5 && Math.abs(meta.upper - 11.484138) < 1e-5);
    assert.equal(meta.n, 3);
    const l = trace(fig, 'long mean ± 95% CI');
    near(l.y, [8.8]);
    near((l.error_y as { array: number[] }).array, [1.2706205], 1e-5);
    near(trace(fig, 'long runs (n=2)').y, [8.9, 8.7]);
  });

  it("horizontal line at the ResNet paper's 8.75% and the original study's errors", () => {
    const paper = fig.data.find((d) => /ResNet paper/.test(String(d.name)))!;
    assert.deepEqual(paper.y, [8.75, 8.75]);
    assert.deepEqual(paper.x, [-0.5, 1.5]);
    const orig = fig.data.find((d) => /original study/.test(String(d.name)))!;
    // arms in natural order: long (x 0, cycle 14 from config) then sgdr-cycle7 (x 1, from the name)
    assert.deepEqual((orig.meta as { arms: string[] }).arms, ['long', 'sgdr-cycle7']);
    near(orig.y, [8.9, 9.02]);
  });

  it('one run per arm: its square is named "mean (n=1: no CI)", without an error bar, and the subtitle says so', () => {
    const one = testErrorFigure([run({ runId: 's1', arm: 'step', finalTestAccuracy: 0.9 }), run({ runId: 'c1', arm: 'cosine', finalTestAccuracy: 0.91 })]);
    const m = trace(one, 'step mean (n=1: no CI)');
    near(m.y, [10]);
    assert.equal((m.error_y as { visible: boolean }).visible, false);
    assert.equal(one.data.find((d) => /± 95% CI/.test(String(d.name))), undefined);
    assert.match((one.layout.title as { subtitle: { text: string } }).subtitle.text, /squares: mean \(one run: no CI\)/);
  });

  it('explicit original-study mapping and disabling', () => {
    const f = testErrorFigure(runs, { originalStudy: { long: 1.5 }, paperError: null });
    near(f.data.find((d) => /original study/.test(String(d.name)))!.y, [1.5]);
    assert.equal(f.data.find((d) => /ResNet paper/.test(String(d.name))), undefined);
    assert.equal(testErrorFigure(runs, { originalStudy: false }).data.find((d) => /original study/.test(String(d.name))), undefined);
    assertJsonSerialisable(f);
  });

  it('the subtitle names only the markers drawn', () => {
    const sub = (g: PlotlyFigure) => (g.layout.title as { subtitle: { text: string } }).subtitle.text;
    assert.match(sub(fig), /diamonds: original study \(long, sgdr-cycle7\)/);
    assert.match(sub(fig), /dashed: ResNet paper \(8\.75%\)/);
    // arms without an original-study figure (e.g. the quick protocol's step / cosine): no diamonds
    const quick = testErrorFigure([
      run({ runId: 'q1', arm: 'step', finalTestAccuracy: 0.34 }),
      run({ runId: 'q2', arm: 'cosine', finalTestAccuracy: 0.3 }),
    ]);
    assert.equal(quick.data.find((d) => /original study/.test(String(d.name))), undefined);
    assert.doesNotMatch(sub(quick), /diamond|original study/);
    assert.match(sub(quick), /squares: mean/);
    assert.doesNotMatch(sub(testErrorFigure(runs, { paperError: null, originalStudy: false })), /dashed|diamond/);
  });
});

describe('arm colours', () => {
  it('are the same for an arm in every figure and distinct within a figure', () => {
    const a = armColors(['step', 'cosine']);
    const b = armColors(['cosine', 'step', 'sgdr-cycle7', 'sgdr-cycle14']);
    assert.equal(a.step, b.step);
    assert.equal(a.cosine, b.cosine);
    assert.equal(new Set(Object.values(b)).size, 4);
    const ttt = timeToTargetFigure(RUNS, { minBoxRuns: 1 });
    const box = ttt.data.find((d) => d.type === 'box' && d.name === 'step')!;
    assert.equal((box.line as { color: string }).color, a.step);
    assert.equal(armColors(['x'], { x: '#123456' }).x, '#123456');
  });

  it("match the protocols' arm names cosine-7 / cosine-14 (no fallback colours)", () => {
    const full = armColors(['cosine-7', 'cosine-14', 'step']);
    assert.deepEqual(full, { 'cosine-7': '#CC79A7', 'cosine-14': '#009E73', step: '#0072B2' });
    // the same colours as cycle7 / cycle14, alone or next to the race arms
    assert.equal(armColors(['cosine-14'])['cosine-14'], '#009E73');
    assert.equal(armColors(['sgdr-cycle7'])['sgdr-cycle7'], '#CC79A7');
    const all = armColors(['step', 'cosine', 'cosine-7', 'cosine-14']);
    assert.deepEqual(all, { step: '#0072B2', cosine: '#D55E00', 'cosine-7': '#CC79A7', 'cosine-14': '#009E73' });
  });
});
