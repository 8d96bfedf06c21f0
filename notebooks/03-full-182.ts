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
// # 03 · Full 182 epochs: final test error of SGDR (cycles 7 and 14) vs the step schedule
//
// The second experiment: ResNet-20 trained for the ResNet paper's full budget, **182 epochs** (64,064 iterations ≈ the paper's 64k), with
//
// * **cosine-7** and **cosine-14**: SGDR, cosine annealing from 0.1 to 0 restarting every 7 (resp. 14) epochs, fastai warm-up;
// * **step**: the paper's schedule, 0.1 divided by 10 at 32k and 48k iterations.
//
// Protocol `full-182`: 10 seeds per arm, 45,000 training / 5,000 validation images, final error on the 10,000 test images. Epochs to 85% validation accuracy are recorded without stopping.
// The paper reports **8.75%** test error for ResNet-20; the original study found a mean test accuracy of **90.98% (cycle 7)** and **91.10% (cycle 14)**.
//
// Cost: 30 runs × 182 epochs on CPU is far beyond a laptop (about 2 min per epoch per core with the oneDNN convolutions, ~120 CPU seconds measured in the study on a 2-core AMD EPYC: ~182 core-hours; about 4 times that on the wasm kernels alone); this notebook is the interface for a large machine or `backend = 'tfjs-node-gpu'`. It can be stopped and resumed: finished runs are kept, an interrupted run restarts from epoch 1.
//
// Before training, the notebook measures the training speed in its kernel and prints how long the runs will take. With its own defaults (Run All, or `npm run notebooks` without parameters) the notebook trains only the small configuration `full-182-demo` into a scratch store; set `protocol = 'full-182'` for the real runs (see Parameters).

// %% [markdown]
// ## Parameters
//
// Every knob of this notebook is in the next cell (tagged `parameters`, papermill's convention). **Its defaults are safe**: Run All trains only the small configuration `full-182-demo` into a temporary scratch store (removed at the end), in a few minutes on 2 cores, the same as a headless `npm run notebooks`; it never writes `data/results.sqlite`. To train the full protocol set `protocol = 'full-182'` (and `results = 'data/results.sqlite'` to keep the runs): the notebook measures the training speed here and prints how long the runs will take before it starts. Headless, `npm run notebooks -- 03 -p NAME VALUE` injects values in a cell right after it (tagged `injected-parameters`) and prints them.
//
// * `protocol`: a protocol (`node dist/cli.js protocols`) or this notebook's small configuration `full-182-demo` (the three full-182 arms on the embedded CIFAR-10 subset, 1 seed, 2 epochs of 450 training images (the cycles are longer than the runs: expect warnings); a demonstration, not evidence).
// * `seeds`, `max_epochs`, `train_fraction`, `target`, `arms`, `batch_size`: change the protocol (`null`: the protocol's or the configuration's). Runs with other settings get other run ids and are not pooled with the protocol's in the analysis.
// * `data_dir`: the CIFAR-10 binary folder, relative to the project root (`null`: `CIFAR10_DIR`, `data/cifar-10-batches-bin`, else the embedded subset; see `locateCifar10`).
// * `results`: the results store, a file relative to the project root or a `postgres://` URL; `null`: a new temporary store, removed at the end of the notebook.
// * `workers` (`null`: one per core; `0`: train in the kernel), `backend` (`'tfjs-node-gpu'` on a CUDA machine), `redraw_every` (redraw the live chart every N epoch records).
//
// Run `npm run build` first: the notebook imports the compiled workspace from `../dist`.

// %% tags=["parameters"]
// Parameters (papermill convention). The defaults train the small configuration into a scratch store.
let protocol: string = 'full-182-demo';  // this notebook's small configuration, or a protocol such as 'full-182' (30 runs: set it to train them)
let seeds: number | null = null;          // seeds per arm (0..N-1 in every arm); null: the protocol's
let max_epochs: number | null = null;     // null: the protocol's
let train_fraction: number | null = null; // share of the training images used; null: the protocol's
let target: number | null = null;         // validation accuracy target; null: the protocol's
let arms: string[] | null = null;         // e.g. ['cosine']; null: every arm
let batch_size: number | null = null;     // null: 128
let data_dir: string | null = null;       // CIFAR-10 binary folder (relative to the project root); null: located
let results: string | null = null;       // null: a temporary scratch store; or a file (relative to the project root, e.g. 'data/results.sqlite') or postgres:// URL
let workers: number | null = null;        // worker processes; null: one per core; 0: in the kernel
let backend: 'auto' | 'onednn' | 'wasm' | 'tfjs-node' | 'tfjs-node-gpu' | 'cpu' = 'auto'; // 'tfjs-node-gpu' on a CUDA machine
let redraw_every: number = 1;             // redraw the live chart every N epoch records

// %%
import * as ws from '../dist/index';

// This notebook's small named configuration; any other name is a protocol (node dist/cli.js protocols).
const CONFIGURATIONS: Record<string, ws.NamedConfiguration> = {
  'full-182-demo': { protocol: 'full-182', overrides: { seeds: 1, maxEpochs: 2, trainFraction: 0.1 }, data: ws.EMBEDDED_DATA_DIR,
    description: 'the three full-182 arms on the embedded CIFAR-10 subset, 1 seed, 2 epochs of 450 training images (the cycles are longer than the runs: expect warnings); a demonstration, not evidence' },
};
// The parameters made into one plan (src/runs/notebook.ts); printed paths are relative to the project root,
// the temporary store by name, no password of a URL (nb.shown).
const nb = ws.trainingNotebook({ protocol: protocol, seeds: seeds, max_epochs: max_epochs, train_fraction: train_fraction, target: target, arms: arms, batch_size: batch_size, data_dir: data_dir, results: results, workers: workers, backend: backend, redraw_every: redraw_every }, CONFIGURATIONS, 'nb03-');
const { spec, overrides, targetAccuracy, store, dataDir, workerCount } = nb;

// %% [markdown]
// ## Protocol and what the store already holds

// %%
// The protocol, the runs of this configuration and those already finished in the store
const plan = await ws.trainingPlan(nb);

// %% [markdown]
// ## Expected duration
//
// Measured here, before anything is trained: a few SGD steps and an evaluation pass of ResNet-20 in this kernel (`ws.measureThroughput`, ~10 s), then `ws.estimateTrainingSeconds`: every run to be trained takes its start-up plus epochs × (training images / training speed + evaluated images / evaluation speed). The range goes from every worker keeping the measured speed to the workers together being no faster than one process (on the idle 2-core development machine 2 workers together gave 1.25× one; other work on the machine slows them further). For protocols that stop at the target it is an upper bound.

// %%
// the training speed measured in this kernel, and the expected duration of the pending runs
const expectedText = await ws.trainingEstimate(nb, plan);

// %% [markdown]
// ## Train (or resume) with a live chart
//
// `ws.runProtocol` skips runs already finished in the store and resumes unfinished ones from their last checkpoint, so re-running this cell resumes the protocol. **Kernel > Interrupt** stops every run within one iteration and releases it (resumable; one line per run that had started), then the cell ends with one `Interrupted` error; nothing of it runs on in the background.
// Each finished epoch of any run calls `onEpoch`; `ws.LiveValidationChart` redraws its chart **in place** (Jupyter `update_display_data` messages for one output), one line per run (seed), so the figure below updates while the cell runs (Jupyter Notebook/Lab, and nbclient keeps the last state in the saved notebook); its last state also carries a static image, as every figure here (see notebook 04).
// `REDRAW_EVERY` sets after how many epoch records it redraws (each redraw sends the figure's data again, a few kB).
// The per-epoch log lines of the runs are printed under the chart.

// %%
ws.initNotebookPlotlyCompressed(); // plotly.js once per notebook, offline (gzip, ~2.7 MB)
const live = new ws.LiveValidationChart({ target: targetAccuracy, every: redraw_every, title: `${spec.name}: validation accuracy per epoch (live)` });
live.render();
const started = Date.now();
const result = await ws.runProtocol({
  protocol: spec.name, overrides: overrides, data: dataDir, results: store, workers: workerCount, backend: backend,
  onEpoch: live.onEpoch, progressBar: false, log: (line) => console.log(nb.shown(line)),
});
live.render(); // final state
const trainedSeconds = (Date.now() - started) / 1000;
console.log(`trained ${result.trained}, skipped ${result.skipped} already finished, failed ${result.failed} in ${ws.formatDuration(trainedSeconds)} (expected ${expectedText})`);

// %% [markdown]
// ## The runs of this protocol
//
// The per-arm table, Kaplan–Meier medians with the log-rank test, and the between-arm tests, as the report shows them (accuracies and errors in percent); the full analysis (power, the original study's numbers, every chart) is in notebook 04 and `npm run report`. The figures are the report's (`ws.protocolFigures`): when the runs deviate from the protocol's setup (as the small configurations do) each says so in its subtitle.

// %%
const saved = await ws.loadResults(store, { protocol: spec.name });
saved.notes.forEach((n) => console.log(`note: ${n}`));
const [analysis] = ws.analyzeResults(saved.runs, saved.epochs);
ws.showMarkdown([ws.armTableMarkdown(analysis), ws.survivalMarkdown(analysis), ws.comparisonsMarkdown(analysis)].join('\n\n'));
const figures = ws.protocolFigures(spec.name, saved.runs, saved.epochs, analysis);
const figure = (kind: string) => figures.find((f) => f.name === `${spec.name}-${kind}`)?.figure;

// %%
ws.showFigure(figure('validation')!, { height: 460 });

// %% [markdown]
// ## Final test error against the paper's 8.75%
//
// Each arm's mean test error with its 95% t interval, the one-sample t-test against 8.75% (see notebook 04 for the assumptions), and the figure with the paper's line and the original study's means.

// %%
ws.showMarkdown(ws.paperComparisonMarkdown(analysis));
const testError = figure('test-error');
if (testError) ws.showFigure(testError, { height: 460 });

// %% [markdown]
// The temporary store (`results = null`) is removed here; a store given by `results` is kept.

// %%
ws.removeScratchStore(nb);
