/**
 * Training-speed bench: ResNet-20 on real CIFAR-10 batches (data_batch_1.bin records, random crop
 * + flip, batch 128) with the workspace's engine (wasm backend + fast kernels unless told
 * otherwise), against the PyTorch CPU reference (scripts/pytorch_reference.py) in its best CPU
 * configuration (channels_last, threads = cores, OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for that
 * command only) and in NCHW, all in the same invocation. The machine may be shared and noisy, so
 * the measurements alternate (workspace, PyTorch, workspace, PyTorch ...) over --rounds rounds and
 * every figure is a median with its min-max.
 *
 *   npm run bench                       # 3 rounds, a few minutes
 *   node dist/bench/bench.js --quick    # 1 round, ~1 minute
 *   node dist/bench/bench.js --help
 *
 * Prints progress lines, then as its LAST line one JSON object with imagesPerSecond (one run, one
 * core), oneRunAllCoresImagesPerSecond, machineImagesPerSecond (one process per core),
 * referenceBestImagesPerSecond, referenceNchwImagesPerSecond, ratio = machine / referenceBest,
 * their min-max, peakRssMB, loadAverage and backend.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../data/random';
import { makeBatch } from '../data/augment';
import { readCifar10File, type Cifar10Raw } from '../data/cifar10';
import { PROJECT_ROOT } from '../data/locate';
import { createMinimalState, minimalTrainStep } from './minimalStep';
import { OPENBLAS_UNSET, type Reference, formatSummary, pytorchReference, summarize, torchAvailable } from './reference';

export interface BenchOptions {
  steps: number;
  warmup: number;
  batch: number;
  workers: number;
  memEvery: number;
  backend: string;
  trainer: 'auto' | 'workspace' | 'minimal';
  data?: string;
  reference: boolean;
  machine: boolean;
  referenceSteps: number;
  python: string;
  /** Alternating measurement rounds. */
  rounds: number;
  /** Threads of one run (1: one core; >1: the data-parallel trainer of src/train/parallel.ts). */
  threads: number;
  /** Measure one run on all cores (--threads = cores). */
  allCores: boolean;
}

/** What one training run (one process) reports. */
export interface RunReport {
  imagesPerSecond: number;
  /** Images per second of CPU time of the process (user + system): robust when the machine is shared. */
  imagesPerCpuSecond: number;
  stepMs: number;
  /** Share of the timed steps spent building batches (decode to float, augment, batch). */
  dataShare: number;
  dataMsPerStep: number;
  loadMs: number;
  numTensors: { step: number; tensors: number }[];
  tensorsFlat: boolean;
  peakRssMB: number;
  backend: string;
  trainer: string;
  kernels: string[];
  firstLoss: number;
  lastLoss: number;
  dataFile: string;
}

const HELP = `Usage: node dist/bench/bench.js [options]
  --steps N           timed training steps per run (default 12; --quick: 8)
  --warmup N          untimed steps first (default 2)
  --rounds N          alternating rounds (workspace, PyTorch, ...) (default 3; --quick: 1)
  --threads N         threads of one run (default 1; the one-run-all-cores figure uses one per core)
  --no-all-cores      skip the one-run-all-cores figure
  --batch N           batch size (default 128)
  --workers N         processes for the whole-machine figure (default: one per core = ${os.cpus().length})
  --mem-every N       record tf.memory().numTensors every N steps (default 5)
  --backend NAME      engine: wasm (default), auto, tfjs-node, tfjs-node-gpu, cpu
  --trainer NAME      auto (workspace src/train/step.ts if present), workspace, minimal
  --data FILE         CIFAR-10 .bin file (default: data_batch_1.bin under CIFAR10_DIR,
                      data/cifar-10-batches-bin or ../shared/data/cifar-10-batches-bin)
  --reference-steps N PyTorch timed steps (default 12; --quick: 8)
  --python PATH       Python with torch (default /usr/bin/python3)
  --no-reference      skip PyTorch;  --no-machine  skip the whole-machine runs
  --quick             short run (1 round, ~1 minute)`;

export function parseArgs(argv: string[]): BenchOptions & { worker: boolean; help: boolean } {
  const quick = argv.includes('--quick');
  const o = {
    steps: quick ? 8 : 12, warmup: 2, batch: 128, rounds: quick ? 1 : 3, threads: 1, allCores: true, workers: os.cpus().length, memEvery: 5,
    backend: 'wasm', trainer: 'auto' as BenchOptions['trainer'], data: undefined as string | undefined,
    reference: true, machine: true, referenceSteps: quick ? 8 : 12, python: '/usr/bin/python3',
    worker: false, help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = () => {
      const v = Number(next());
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    switch (a) {
      case '--steps': o.steps = Math.max(1, int()); break;
      case '--warmup': o.warmup = int(); break;
      case '--batch': o.batch = Math.max(1, int()); break;
      case '--workers': o.workers = Math.max(1, int()); break;
      case '--mem-every': o.memEvery = Math.max(1, int()); break;
      case '--backend': o.backend = next(); break;
      case '--trainer': o.trainer = next() as BenchOptions['trainer']; break;
      case '--data': o.data = next(); break;
      case '--rounds': o.rounds = Math.max(1, int()); break;
      case '--threads': o.threads = Math.max(1, int()); break;
      case '--no-all-cores': o.allCores = false; break;
      case '--reference-steps': o.referenceSteps = Math.max(1, int()); break;
      case '--python': o.python = next(); break;
      case '--no-reference': o.reference = false; break;
      case '--no-machine': o.machine = false; break;
      case '--quick': break;
      case '--worker': o.worker = true; break;
      case '--help': case '-h': o.help = true; break;
      default: throw new Error(`unknown option ${a}\n${HELP}`);
    }
  }
  return o;
}

/** data_batch_1.bin: --data, CIFAR10_DIR, data/cifar-10-batches-bin, ../shared/data/cifar-10-batches-bin. */
export function findDataFile(flag?: string): string {
  const candidates = flag ? [flag] : [
    process.env.CIFAR10_DIR ? path.join(process.env.CIFAR10_DIR, 'data_batch_1.bin') : '',
    path.join(PROJECT_ROOT, 'data', 'cifar-10-batches-bin', 'data_batch_1.bin'),
    path.join(PROJECT_ROOT, '..', 'shared', 'data', 'cifar-10-batches-bin', 'data_batch_1.bin'),
  ].filter((p) => p !== '');
  for (const c of candidates) if (fs.existsSync(c)) return path.resolve(c);
  throw new Error(`CIFAR-10 data_batch_1.bin not found (tried ${candidates.join(', ')}); pass --data FILE`);
}

interface Trainer {
  name: string;
  step(images: Float32Array, labels: Int32Array, lr: number): { loss: number; correct: number } | Promise<{ loss: number; correct: number }>;
  dispose(): void | Promise<void>;
  /** Resident memory of the replicas (parallel trainer: worker threads share this process's RSS). */
  numTensors?: () => Promise<number>;
}

/** The data-parallel trainer of src/train/parallel.ts with `threads` replicas. */
async function makeParallelTrainer(threads: number): Promise<Trainer> {
  const { createParallelTrainer } = require('../train/parallel') as typeof import('../train/parallel');
  const t = await createParallelTrainer({ threads, depth: 20, seed: 1, momentum: 0.9, weightDecay: 1e-4 });
  return {
    name: `parallel (src/train/parallel.ts, ${threads} threads)`,
    step: (x, y, lr) => t.step(x, y, lr),
    dispose: () => t.close(),
    numTensors: async () => (await t.memory()).reduce((s, m) => s + m.numTensors, 0),
  };
}

type StepModule = {
  createTrainState?: (o: { depth: number; seed: number; momentum: number; weightDecay: number }) => { dispose(): void };
  trainStep?: (s: unknown, images: Float32Array, labels: Int32Array, lr: number) => { loss: number; correct: number };
};

function makeTrainer(kind: BenchOptions['trainer']): Trainer {
  if (kind !== 'minimal') {
    let mod: StepModule | null = null;
    try {
      mod = require('../train/step') as StepModule;
    } catch (e) {
      if (kind === 'workspace') throw e;
    }
    if (mod && mod.createTrainState && mod.trainStep) {
      try {
        const state = mod.createTrainState({ depth: 20, seed: 1, momentum: 0.9, weightDecay: 1e-4 });
        const step = mod.trainStep;
        return { name: 'workspace (src/train/step.ts)', step: (x, y, lr) => step(state, x, y, lr), dispose: () => state.dispose() };
      } catch (e) {
        if (kind === 'workspace') throw e;
        console.error(`bench: workspace trainer unusable (${(e as Error).message}); using the minimal step`);
      }
    }
    if (kind === 'workspace') throw new Error('src/train/step.ts has no createTrainState/trainStep');
  }
  const state = createMinimalState(20, 1, 0.9, 1e-4);
  return { name: 'minimal (src/bench/minimalStep.ts)', step: (x, y, lr) => minimalTrainStep(state, x, y, lr), dispose: () => state.dispose() };
}

async function selectBackend(backend: string): Promise<{ backend: string; kernels: string[] }> {
  let mod: { selectEngine?: (o: { backend?: string }) => Promise<{ backend: string; tfBackend: string; kernels: string[] }> } | null = null;
  try {
    mod = require('../engine/engine');
  } catch {
    mod = null;
  }
  if (mod && mod.selectEngine) {
    const info = await mod.selectEngine({ backend });
    // the engine registers the wasm kernels; make sure (idempotent) when it did not
    let kernels = info.kernels;
    if (tf.getBackend() === 'wasm' && kernels.length === 0) kernels = (require('../engine/wasm') as typeof import('../engine/wasm')).registerWasmKernels();
    return { backend: info.tfBackend === info.backend ? info.backend : `${info.backend} (${info.tfBackend})`, kernels };
  }
  if (backend !== 'wasm' && backend !== 'auto') throw new Error(`backend ${backend} needs src/engine/engine.ts`);
  require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
  await tf.ready();
  const kernels = (require('../engine/wasm') as typeof import('../engine/wasm')).registerWasmKernels();
  return { backend: 'wasm', kernels };
}

/**
 * One training run in this process. `go` is awaited after setup and warm-up (whole-machine runs
 * start their timed steps together).
 */
export async function runTraining(o: BenchOptions, go: () => Promise<void> = async () => undefined): Promise<RunReport> {
  const { backend, kernels } = await selectBackend(o.backend);
  const dataFile = findDataFile(o.data);
  const t0 = performance.now();
  const raw: Cifar10Raw = readCifar10File(dataFile);
  const loadMs = performance.now() - t0;
  const trainer = o.threads > 1 ? await makeParallelTrainer(o.threads) : makeTrainer(o.trainer);
  const tensors = trainer.numTensors ?? (async () => tf.memory().numTensors);
  const rng = createRng(12345 + process.pid);
  const buffer = new Float32Array(o.batch * 3072);
  const indices = new Int32Array(o.batch);
  let cursor = 0;
  const nextBatch = () => {
    for (let i = 0; i < o.batch; i++) indices[i] = (cursor++ * 7919) % raw.count;
    return makeBatch(raw, indices, rng, buffer);
  };
  const lr = 0.1;
  let firstLoss = NaN;
  for (let i = 0; i < o.warmup; i++) {
    const b = nextBatch();
    const r = await trainer.step(b.images, b.labels, lr);
    if (i === 0) firstLoss = r.loss;
  }
  await go();
  const numTensors: { step: number; tensors: number }[] = [{ step: 0, tensors: await tensors() }];
  let dataMs = 0;
  let lastLoss = NaN;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let s = 1; s <= o.steps; s++) {
    const d0 = performance.now();
    const b = nextBatch();
    dataMs += performance.now() - d0;
    const r = await trainer.step(b.images, b.labels, lr);
    if (Number.isNaN(firstLoss)) firstLoss = r.loss;
    lastLoss = r.loss;
    if (s % o.memEvery === 0 || s === o.steps) numTensors.push({ step: s, tensors: await tensors() });
  }
  const total = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  await trainer.dispose();
  const counts = numTensors.map((m) => m.tensors);
  return {
    imagesPerSecond: (o.steps * o.batch) / (total / 1000),
    imagesPerCpuSecond: (o.steps * o.batch) / ((cpu.user + cpu.system) / 1e6),
    stepMs: total / o.steps,
    dataShare: dataMs / total,
    dataMsPerStep: dataMs / o.steps,
    loadMs,
    numTensors,
    tensorsFlat: counts.every((c) => c === counts[0]),
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    backend,
    trainer: trainer.name,
    kernels,
    firstLoss,
    lastLoss,
    dataFile,
  };
}

/** Worker mode (forked): sets up, says 'ready', waits for 'go', trains, sends the report. */
async function workerMain(o: BenchOptions): Promise<void> {
  const go = () => new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    process.send?.({ type: 'ready' });
  });
  try {
    const report = await runTraining(o, process.send ? go : undefined);
    process.send?.({ type: 'report', report });
  } catch (e) {
    process.send?.({ type: 'error', error: (e as Error).stack ?? String(e) });
  }
  process.disconnect?.();
}

/** Runs `count` forked workers with the same options, starting their timed steps together. */
function runWorkers(count: number, argv: string[]): Promise<RunReport[]> {
  return new Promise((resolve, reject) => {
    const children = Array.from({ length: count }, () => fork(__filename, [...argv, '--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    const reports: RunReport[] = [];
    let ready = 0;
    let failed = false;
    for (const child of children) {
      child.on('message', (m: { type: string; report?: RunReport; error?: string }) => {
        if (m.type === 'ready' && ++ready === count) children.forEach((c) => c.send('go'));
        else if (m.type === 'report' && m.report) {
          reports.push(m.report);
          if (reports.length === count) resolve(reports);
        } else if (m.type === 'error' && !failed) {
          failed = true;
          children.forEach((c) => c.kill());
          reject(new Error(`bench worker failed: ${m.error}`));
        }
      });
      child.on('exit', (code) => {
        if (code !== 0 && !failed && reports.length < count) {
          failed = true;
          reject(new Error(`bench worker exited with code ${code}`));
        }
      });
    }
  });
}

const fmt = (v: number | null, d = 1) => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));
const sumIps = (rs: RunReport[]) => rs.reduce((s, r) => s + r.imagesPerSecond, 0);

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseArgs(argv);
  if (o.help) {
    console.log(HELP);
    return;
  }
  if (o.worker) {
    await workerMain(o);
    return;
  }
  const cores = os.cpus().length;
  const base = argv.filter((a) => a !== '--worker');
  const load0 = os.loadavg();
  console.log(`bench: ResNet-20, batch ${o.batch}, ${o.warmup} warm-up + ${o.steps} timed steps per measurement, ${o.rounds} alternating round(s), `
    + `backend ${o.backend}; ${cores} cores, load average ${load0.map((l) => l.toFixed(2)).join(' ')} `
    + '(other processes slow every figure down: compare figures of one invocation)');
  const why = o.reference ? torchAvailable(o.python) : 'skipped (--no-reference)';
  if (why) console.log(`PyTorch reference NOT measured: ${why}`);
  const single: RunReport[] = [];
  const allCores: RunReport[] = [];
  const machine: number[] = [];
  const machineRuns: RunReport[] = [];
  const best: Reference[] = [];
  const nchw: Reference[] = [];
  let dataFile = '';
  for (let round = 1; round <= o.rounds; round++) {
    const tag = `round ${round}/${o.rounds}:`;
    const [s] = await runWorkers(1, [...base, '--threads', '1']);
    single.push(s);
    dataFile = s.dataFile;
    console.log(`${tag} workspace, one run, one core: ${fmt(s.imagesPerSecond)} images/s (${fmt(s.stepMs, 0)} ms/step), trainer ${s.trainer}`);
    if (!why) {
      const r = pytorchReference(o, 'best', cores, dataFile);
      best.push(r);
      console.log(`${tag} PyTorch best (channels_last, ${cores} threads, ${OPENBLAS_UNSET.join('/')} unset): ${fmt(r.imagesPerSecond)} images/s${r.note ? ` (${r.note})` : ''}`);
    }
    if (o.allCores && cores > 1) {
      const [a] = await runWorkers(1, [...base, '--threads', String(cores)]);
      allCores.push(a);
      console.log(`${tag} workspace, one run, ${cores} threads: ${fmt(a.imagesPerSecond)} images/s, trainer ${a.trainer}`);
    }
    if (!why) {
      const r = pytorchReference(o, 'nchw', cores, dataFile);
      nchw.push(r);
      console.log(`${tag} PyTorch NCHW (${cores} threads, environment unchanged): ${fmt(r.imagesPerSecond)} images/s${r.note ? ` (${r.note})` : ''}`);
    }
    if (o.machine) {
      const m = await runWorkers(o.workers, [...base, '--threads', '1']);
      machine.push(sumIps(m));
      machineRuns.push(...m);
      console.log(`${tag} workspace, whole machine, ${o.workers} processes: ${fmt(sumIps(m))} images/s (${m.map((r) => fmt(r.imagesPerSecond)).join(' + ')})`);
    }
  }
  const S = {
    one: summarize(single.map((r) => r.imagesPerSecond)),
    oneCpu: summarize(single.map((r) => r.imagesPerCpuSecond)),
    all: summarize(allCores.map((r) => r.imagesPerSecond)),
    machine: summarize(machine),
    best: summarize(best.map((r) => r.imagesPerSecond)),
    nchw: summarize(nchw.map((r) => r.imagesPerSecond)),
  };
  const ratio = S.machine.median !== null && S.best.median ? S.machine.median / S.best.median : null;
  const speedup = S.all.median !== null && S.one.median ? S.all.median / S.one.median : null;
  const last = single[single.length - 1];
  const peak = Math.max(...single.map((r) => r.peakRssMB), ...allCores.map((r) => r.peakRssMB), ...machineRuns.map((r) => r.peakRssMB));
  const load1 = os.loadavg();
  console.log('summary (median (min-max, n)):');
  console.log(`  one run, one core:          ${formatSummary(S.one)} images/s`);
  console.log(`  one run, all ${cores} cores:      ${formatSummary(S.all)} images/s (x${fmt(speedup, 2)} one core)`);
  console.log(`  whole machine (${o.workers} runs):    ${formatSummary(S.machine)} images/s`);
  console.log(`  PyTorch best (channels_last): ${formatSummary(S.best)} images/s`);
  console.log(`  PyTorch NCHW:               ${formatSummary(S.nchw)} images/s`);
  console.log(`  ratio whole machine / PyTorch best: ${fmt(ratio, 3)}`);
  console.log(`  data pipeline ${fmt(last.dataMsPerStep, 2)} ms/step (${fmt(100 * last.dataShare, 2)}%); peak RSS ${fmt(peak, 0)} MB; `
    + `numTensors ${last.numTensors.map((m) => `${m.step}:${m.tensors}`).join(' ')} (${last.tensorsFlat ? 'flat' : 'NOT FLAT'}); `
    + `load average at the end ${load1.map((l) => l.toFixed(2)).join(' ')}`);
  console.log(JSON.stringify({
    imagesPerSecond: S.one.median,
    imagesPerSecondRange: [S.one.min, S.one.max],
    imagesPerCpuSecond: S.oneCpu.median,
    oneRunAllCoresImagesPerSecond: S.all.median,
    oneRunAllCoresRange: [S.all.min, S.all.max],
    oneRunAllCoresThreads: allCores.length ? cores : null,
    oneRunAllCoresSpeedup: speedup,
    machineImagesPerSecond: S.machine.median,
    machineRange: [S.machine.min, S.machine.max],
    machineWorkers: machine.length ? o.workers : null,
    referenceBestImagesPerSecond: S.best.median,
    referenceBestRange: [S.best.min, S.best.max],
    referenceNchwImagesPerSecond: S.nchw.median,
    referenceNchwRange: [S.nchw.min, S.nchw.max],
    referenceThreads: cores,
    ratio,
    referenceNote: why,
    rounds: o.rounds,
    loadAverageStart: load0[0],
    loadAverageEnd: load1[0],
    cores,
    peakRssMB: peak,
    backend: last.backend,
    trainer: last.trainer,
    batch: o.batch,
    steps: o.steps,
    stepMs: last.stepMs,
    dataShare: last.dataShare,
    numTensors: last.numTensors.map((m) => m.tensors),
    tensorsFlat: last.tensorsFlat && allCores.every((r) => r.tensorsFlat),
    kernels: last.kernels,
  }));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
