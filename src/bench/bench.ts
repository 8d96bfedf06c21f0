/**
 * Training-speed bench: ResNet-20 on real CIFAR-10 batches (data_batch_1.bin records, random crop
 * + flip, batch 128) with the workspace's engine (wasm backend + fast kernels unless told
 * otherwise), against the PyTorch CPU reference (scripts/pytorch_reference.py) measured in the
 * same invocation.
 *
 *   npm run bench                       # full: one run, the whole machine, PyTorch 1 and 2 threads
 *   node dist/bench/bench.js --quick    # ~1-2 minutes
 *   node dist/bench/bench.js --help
 *
 * Prints progress lines, then as its LAST line one JSON object with at least imagesPerSecond,
 * machineImagesPerSecond, referenceImagesPerSecond, ratio, peakRssMB and backend.
 */
import { fork, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../data/random';
import { makeBatch } from '../data/augment';
import { readCifar10File, type Cifar10Raw } from '../data/cifar10';
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
  --steps N           timed training steps per run (default 30; --quick: 8)
  --warmup N          untimed steps first (default 3; --quick: 2)
  --batch N           batch size (default 128)
  --workers N         processes for the whole-machine figure (default: one per core = ${os.cpus().length})
  --mem-every N       record tf.memory().numTensors every N steps (default 5)
  --backend NAME      engine: wasm (default), auto, tfjs-node, tfjs-node-gpu, cpu
  --trainer NAME      auto (workspace src/train/step.ts if present), workspace, minimal
  --data FILE         CIFAR-10 .bin file (default: data_batch_1.bin under CIFAR10_DIR,
                      data/cifar-10-batches-bin or ../shared/data/cifar-10-batches-bin)
  --reference-steps N PyTorch timed steps (default 20; --quick: 8)
  --python PATH       Python with torch (default /usr/bin/python3)
  --no-reference      skip PyTorch;  --no-machine  skip the whole-machine runs
  --quick             short run (~1-2 minutes)`;

export function parseArgs(argv: string[]): BenchOptions & { worker: boolean; help: boolean } {
  const quick = argv.includes('--quick');
  const o = {
    steps: quick ? 8 : 30, warmup: quick ? 2 : 3, batch: 128, workers: os.cpus().length, memEvery: 5,
    backend: 'wasm', trainer: 'auto' as BenchOptions['trainer'], data: undefined as string | undefined,
    reference: true, machine: true, referenceSteps: quick ? 8 : 20, python: '/usr/bin/python3',
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
  step(images: Float32Array, labels: Int32Array, lr: number): { loss: number; correct: number };
  dispose(): void;
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
  const trainer = makeTrainer(o.trainer);
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
    const r = trainer.step(b.images, b.labels, lr);
    if (i === 0) firstLoss = r.loss;
  }
  await go();
  const numTensors: { step: number; tensors: number }[] = [{ step: 0, tensors: tf.memory().numTensors }];
  let dataMs = 0;
  let lastLoss = NaN;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let s = 1; s <= o.steps; s++) {
    const d0 = performance.now();
    const b = nextBatch();
    dataMs += performance.now() - d0;
    const r = trainer.step(b.images, b.labels, lr);
    if (Number.isNaN(firstLoss)) firstLoss = r.loss;
    lastLoss = r.loss;
    if (s % o.memEvery === 0 || s === o.steps) numTensors.push({ step: s, tensors: tf.memory().numTensors });
  }
  const total = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  trainer.dispose();
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

interface Reference { threads: number; imagesPerSecond: number | null; imagesPerCpuSecond?: number; note?: string }

function pytorchReference(o: BenchOptions, threads: number, dataFile: string): Reference {
  const script = path.join(PROJECT_ROOT, 'scripts', 'pytorch_reference.py');
  const r = spawnSync(o.python, [script, '--threads', String(threads), '--steps', String(o.referenceSteps),
    '--warmup', '2', '--batch', String(o.batch), '--data', dataFile], { encoding: 'utf8', timeout: 30 * 60 * 1000 });
  if (r.error || r.status !== 0) {
    return { threads, imagesPerSecond: null, note: `PyTorch reference failed: ${r.error?.message ?? r.stderr.trim().split('\n').slice(-1)[0]}` };
  }
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  const parsed = line ? JSON.parse(line) as { imagesPerSecond: number; imagesPerCpuSecond?: number } : null;
  return { threads, imagesPerSecond: parsed ? parsed.imagesPerSecond : null, imagesPerCpuSecond: parsed?.imagesPerCpuSecond };
}

function torchAvailable(python: string): string | null {
  if (!fs.existsSync(python)) return `${python} does not exist`;
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.status !== 0) return `${python} has no torch (import failed)`;
  return null;
}

const fmt = (v: number | null, d = 1) => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));

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
  const childArgv = argv.filter((a) => a !== '--worker');
  console.log(`bench: ResNet-20, batch ${o.batch}, ${o.warmup} warm-up + ${o.steps} timed steps per run, backend ${o.backend}; `
    + `${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(2)} (other processes slow every figure down; `
    + 'images per CPU-second is the contention-robust one)');

  const [single] = await runWorkers(1, childArgv);
  console.log(`one run (one process): ${fmt(single.imagesPerSecond)} images/s (${fmt(single.imagesPerCpuSecond)} per CPU-second), ${fmt(single.stepMs, 0)} ms/step, `
    + `backend ${single.backend}, trainer ${single.trainer}`);
  console.log(`  data pipeline (decode to float, augment, batch): ${fmt(single.dataMsPerStep, 2)} ms/step = `
    + `${fmt(100 * single.dataShare, 2)}% of a step (file read + parse once: ${fmt(single.loadMs, 0)} ms)`);
  console.log(`  tf.memory().numTensors: ${single.numTensors.map((m) => `${m.step}:${m.tensors}`).join(' ')} `
    + `(${single.tensorsFlat ? 'flat' : 'NOT FLAT'})`);
  console.log(`  peak RSS ${fmt(single.peakRssMB, 0)} MB; loss ${fmt(single.firstLoss, 3)} -> ${fmt(single.lastLoss, 3)}; data ${single.dataFile}`);

  let machine: RunReport[] = [];
  if (o.machine) {
    machine = await runWorkers(o.workers, childArgv);
    console.log(`whole machine: ${o.workers} processes at once: ${fmt(machine.reduce((s, r) => s + r.imagesPerSecond, 0))} images/s `
      + `(${machine.map((r) => fmt(r.imagesPerSecond)).join(' + ')})`);
  }

  const refs: Reference[] = [];
  let referenceNote: string | undefined;
  if (o.reference) {
    const why = torchAvailable(o.python);
    if (why) {
      referenceNote = `PyTorch reference NOT measured: ${why}`;
      console.log(referenceNote);
    } else {
      for (const threads of [1, 2]) {
        const r = pytorchReference(o, threads, single.dataFile);
        refs.push(r);
        console.log(`PyTorch CPU reference, ${threads} thread(s): ${fmt(r.imagesPerSecond)} images/s`
          + `${r.imagesPerCpuSecond !== undefined ? ` (${fmt(r.imagesPerCpuSecond)} per CPU-second)` : ''}${r.note ? ` (${r.note})` : ''}`);
      }
    }
  }
  const ref1 = refs.find((r) => r.threads === 1)?.imagesPerSecond ?? null;
  const ref2 = refs.find((r) => r.threads === 2)?.imagesPerSecond ?? null;
  const machineIps = machine.length ? machine.reduce((s, r) => s + r.imagesPerSecond, 0) : null;
  const ratio = ref1 ? single.imagesPerSecond / ref1 : null;
  const ref1Cpu = refs.find((r) => r.threads === 1)?.imagesPerCpuSecond ?? null;
  const cpuRatio = ref1Cpu ? single.imagesPerCpuSecond / ref1Cpu : null;
  if (ratio !== null) console.log(`ratio one run / PyTorch 1 thread: ${fmt(ratio, 3)} (per CPU-second: ${fmt(cpuRatio, 3)})`);
  if (machineIps !== null && ref2) console.log(`ratio whole machine / PyTorch 2 threads: ${fmt(machineIps / ref2, 3)}`);
  const peak = Math.max(single.peakRssMB, ...machine.map((r) => r.peakRssMB));
  console.log(JSON.stringify({
    imagesPerSecond: single.imagesPerSecond,
    imagesPerCpuSecond: single.imagesPerCpuSecond,
    machineImagesPerSecond: machineIps,
    machineWorkers: machine.length || null,
    referenceImagesPerSecond: ref1,
    referenceImagesPerSecond2Threads: ref2,
    ratio,
    referenceImagesPerCpuSecond: ref1Cpu,
    cpuRatio,
    loadAverage: os.loadavg()[0],
    machineRatio: machineIps !== null && ref2 ? machineIps / ref2 : null,
    referenceNote: referenceNote ?? null,
    peakRssMB: peak,
    backend: single.backend,
    trainer: single.trainer,
    batch: o.batch,
    steps: o.steps,
    stepMs: single.stepMs,
    dataShare: single.dataShare,
    numTensors: single.numTensors.map((m) => m.tensors),
    tensorsFlat: single.tensorsFlat,
    kernels: single.kernels,
  }));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
