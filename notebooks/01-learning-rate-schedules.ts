// ---
// jupyter:
//   jupytext:
//     formats: ipynb,ts:percent
//     text_representation:
//       extension: .ts
//       format_name: percent
//       format_version: '1.3'
//       jupytext_version: 1.16.4
//   kernelspec:
//     display_name: TypeScript
//     language: typescript
//     name: tslab
// ---

// %% [markdown]
// # 01 · Learning-rate schedules
//
// The schedules compared in the reproduction of *How to train your neural network* (2018), ResNet-20 on CIFAR-10:
//
// * **step** — the ResNet paper's schedule: 0.1, divided by 10 at iterations 32k and 48k, 64k iterations in all;
// * **constant** — 0.1 throughout;
// * **SGDR** (cosine annealing with warm restarts, Loshchilov & Hutter 2017) with a first cycle of 1 epoch (with fastai's warm-up: lr/100 for the first 1/20 of the first cycle), 7 epochs and 14 epochs (the `full-182` arms), all with cycle multiplier 1 as in the protocols; a `cycleMult = 2` variant is drawn for illustration.
//
// One epoch is 352 iterations (45,000 training images, mini-batches of 128), so 64k iterations are about 182 epochs.
// Figures are drawn inline with the project's plotly.js (offline) and exported to `reports/` (parameter `report_dir`).
//
// Run `npm run build` first: the notebook imports the compiled workspace from `../dist`.

// %% [markdown]
// ## Parameters
//
// The next cell (tagged `parameters`) holds every knob; headless, `npm run notebooks -- 01 -p NAME VALUE` injects values after it (e.g. `-p report_dir reports/mine -p formats html`). `report_dir` is relative to the project root; PNG and SVG need Chromium, HTML does not.

// %% tags=["parameters"]
// Parameters (papermill convention)
let iterations: number = 64000;                 // ResNet paper: 64k iterations
let iterations_per_epoch: number = 352;         // ceil(45000 / 128)
let lr: number = 0.1;                           // peak learning rate of every schedule
let report_dir: string = 'reports';             // export folder, relative to the project root
let formats: string[] = ['png', 'svg', 'html']; // export formats: png, svg (Chromium), html

// %%
import * as path from 'path';
import * as ws from '../dist/index';
ws.initNotebookPlotlyCompressed(); // plotly.js once per notebook, offline (gzip, ~2.7 MB)

const ITERATIONS = iterations;
const ITERS_PER_EPOCH = iterations_per_epoch;
const LR = lr;
console.log(`parameters: ${JSON.stringify({ iterations: iterations, iterations_per_epoch: iterations_per_epoch, lr: lr, report_dir: report_dir, formats: formats })}`);
console.log(`${ITERATIONS} iterations = ${(ITERATIONS / ITERS_PER_EPOCH).toFixed(1)} epochs of ${ITERS_PER_EPOCH} iterations`);

// %%
const sgdr = (epochs: number, warmup = false, cycleMult = 1) =>
  ws.cosineAnnealingWarmRestarts({
    lrMax: LR,
    lrMin: 0,
    cycleLength: epochs * ITERS_PER_EPOCH,
    cycleMult,
    ...(warmup ? { warmup: ws.fastaiWarmup(epochs * ITERS_PER_EPOCH) } : {}),
  });

const series = [
  { name: 'step (0.1, ÷10 at 32k and 48k)', schedule: ws.stepDecay({ lr: LR, milestones: [32000, 48000], gamma: 0.1 }) },
  { name: 'constant 0.1', schedule: ws.constantLr({ lr: LR }), dash: 'dot' },
  { name: 'SGDR cycle 1 epoch, fastai warm-up (race-to-85)', schedule: sgdr(1, true) },
  { name: 'SGDR cycle 7 epochs (full-182)', schedule: sgdr(7, true) },
  { name: 'SGDR cycle 14 epochs (full-182)', schedule: sgdr(14, true) },
  { name: 'SGDR cycle 1 epoch, cycleMult 2 (illustration)', schedule: sgdr(1, false, 2) },
];

// Restarts within the 64k iterations, in epochs
for (const c of [1, 7, 14]) {
  const restarts = ws.restartIterations(c * ITERS_PER_EPOCH, 1, ITERATIONS);
  console.log(`cycle ${c}: ${restarts.length} cycles, starting at epochs ${restarts.slice(0, 8).map((i) => i / ITERS_PER_EPOCH).join(', ')}${restarts.length > 8 ? ', ...' : ''}`);
}
// Sanity checks of a few values
console.log('step lr at 0, 31999, 32000, 48000:', [0, 31999, 32000, 48000].map(series[0].schedule).map((v) => +v.toPrecision(6)));
console.log('warm-up lr of the first iteration:', series[2].schedule(0), '→ after warm-up:', +series[2].schedule(ws.fastaiWarmup(ITERS_PER_EPOCH).iterations).toPrecision(6));

// %%
// the 1-epoch cycles (182 restarts) would fill this figure: they are in the 8-epoch zoom below
const fig = ws.scheduleFigure(series.filter((s) => !s.name.startsWith('SGDR cycle 1 ')), {
  iterations: ITERATIONS,
  iterationsPerEpoch: ITERS_PER_EPOCH,
  title: 'Learning-rate schedules over 64k iterations (ResNet-20, CIFAR-10)',
});
ws.showFigure(fig, { height: 520 });

// %% [markdown]
// The first 8 epochs, every iteration: the 1-epoch cycle starts with fastai's warm-up (lr/100 for 18 iterations), then restarts every epoch; the `cycleMult = 2` illustration restarts after 1, 3 and 7 epochs; the 7- and 14-epoch cycles start with their own warm-up (1/20 of the cycle).

// %%
const zoom = ws.scheduleFigure(series, {
  iterations: 8 * ITERS_PER_EPOCH,
  iterationsPerEpoch: ITERS_PER_EPOCH,
  maxPoints: Infinity,
  title: 'Learning-rate schedules: first 8 epochs',
});
ws.showFigure(zoom, { height: 460 });

// %% [markdown]
// ## Export
//
// PNG (2× scale), SVG and standalone offline HTML in `report_dir` (default `reports/`), rendered by headless Chromium (set `CHROMIUM_PATH` if it is not `/usr/bin/chromium` or on `PATH`).

// %%
const formatsChecked = formats.map((f) => {
  if (f !== 'png' && f !== 'svg' && f !== 'html') throw new Error(`formats: "${f}" is not png, svg or html`);
  return f as 'png' | 'svg' | 'html';
});
const written = await ws.exportFigures(
  { 'lr-schedules': fig, 'lr-schedules-first-8-epochs': zoom },
  path.resolve(ws.PROJECT_ROOT, report_dir),
  { formats: formatsChecked, scale: 2, width: 1000, height: 560 },
);
const rel = (f: string) => (f.startsWith(ws.PROJECT_ROOT + path.sep) ? path.relative(ws.PROJECT_ROOT, f) : f);
for (const [name, files] of Object.entries(written)) console.log(name, Object.values(files).map((f) => rel(f!)).join('  '));
