/**
 * One bench measurement: a training run in a forked process (one per run), started together
 * with the others of its measurement, reporting images/s, CPU time, memory and tensors.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../data/random';
import { makeBatch } from '../data/augment';
import { readCifar10File, takeFirst, type Cifar10Raw } from '../data/cifar10';
import { PROJECT_ROOT } from '../data/locate';
import { createMinimalState, minimalTrainStep } from './minimalStep';

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
  /** OpenMP threads of oneDNN's convolutions in a single-process run (intra-op; default 1). */
  onednnThreads?: number;
}

/** What one training run (one process) reports. */
export interface RunReport {
  imagesPerSecond: number;
  /** Images per second of CPU time of the process (user + system): robust when the machine is shared. */
  imagesPerCpuSecond: number;
  /** Evaluated images per second (inference mode, batches of 200, 1,000 images), null for the parallel trainer. */
  evalImagesPerSecond: number | null;
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
  /** Parallel trainer: barriers per step, and each replica's milliseconds per step spent waiting in them; else null. */
  synchronisation: { barriersPerStep: number; waitedMsPerStep: number[] } | null;
}

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
  /** Evaluates `raw` in inference mode (batches of 200) and returns images/s (workspace trainer only). */
  evaluate?: (raw: Cifar10Raw) => number;
  /** Parallel trainer: each replica's barriers and milliseconds waited so far. */
  waits?: () => Promise<{ barriers: number; waitedMs: number }[]>;
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
    waits: () => t.waits(),
  };
}

type StepModule = {
  createTrainState?: (o: { depth: number; seed: number; momentum: number; weightDecay: number }) => { dispose(): void };
  trainStep?: (s: unknown, images: Float32Array, labels: Int32Array, lr: number) => { loss: number; correct: number };
  evaluate?: (model: unknown, raw: Cifar10Raw) => unknown;
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
        const evaluate = mod.evaluate;
        return {
          name: 'workspace (src/train/step.ts)', step: (x, y, lr) => step(state, x, y, lr), dispose: () => state.dispose(),
          evaluate: evaluate && ((raw: Cifar10Raw) => {
            const t0 = performance.now();
            evaluate((state as unknown as { model: unknown }).model, raw);
            return raw.count / ((performance.now() - t0) / 1000);
          }),
        };
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
  if ((o.onednnThreads ?? 1) > 1) (require('../engine/onednn') as typeof import('../engine/onednn')).setOneDnnThreads(o.onednnThreads!);
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
  const waits0 = trainer.waits ? await trainer.waits() : null;
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
  const waits1 = trainer.waits ? await trainer.waits() : null;
  const synchronisation = waits0 && waits1 ? {
    barriersPerStep: (waits1[0].barriers - waits0[0].barriers) / o.steps,
    waitedMsPerStep: waits1.map((w, i) => (w.waitedMs - waits0[i].waitedMs) / o.steps),
  } : null;
  // evaluation speed (one pass over 1,000 images), for the study's cost
  const evalImagesPerSecond = trainer.evaluate ? trainer.evaluate(takeFirst(raw, Math.min(1000, raw.count))) : null;
  await trainer.dispose();
  const counts = numTensors.map((m) => m.tensors);
  return {
    imagesPerSecond: (o.steps * o.batch) / (total / 1000),
    imagesPerCpuSecond: (o.steps * o.batch) / ((cpu.user + cpu.system) / 1e6),
    evalImagesPerSecond,
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
    synchronisation,
  };
}

/** Worker mode (forked): sets up, says 'ready', waits for 'go', trains, sends the report. */
export async function workerMain(o: BenchOptions): Promise<void> {
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
export function runWorkers(script: string, count: number, argv: string[]): Promise<RunReport[]> {
  return new Promise((resolve, reject) => {
    const children = Array.from({ length: count }, () => fork(script, [...argv, '--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
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
