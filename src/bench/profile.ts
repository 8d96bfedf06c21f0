/**
 * Per-operator profile of one ResNet-20 training step (batch 128, real CIFAR-10 records) on the
 * wasm-based engines (onednn, wasm): every kernel registered for 'wasm' is wrapped with a timer
 * (the wasm kernels are synchronous, so the wall time around a kernel call is its time), then
 * warm-up steps, then timed steps; kernel time is summed per kernel name and the rest of the step
 * (tfjs engine bookkeeping, tape, JS) is reported as "outside kernels".
 *
 *   node dist/bench/profile.js [--backend onednn|wasm] [--steps 10] [--warmup 3] [--batch 128] [--evaluate]
 *
 * `--evaluate` profiles the evaluation instead (inference mode, running statistics, as after every
 * epoch: evaluateBatches at --batch, default 200 there, `--steps` batches of real records).
 *
 * Prints a Markdown table (kernel, calls per step, ms per step, share of the step), then one JSON
 * line with the wall and CPU time per step. The machine may be shared: pause other work (the background study: `kill -STOP -- -$(cat ~/ws-study/train.pid)`, `kill -CONT` after) and compare within one invocation.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../data/random';
import { makeBatch } from '../data/augment';
import { readCifar10File } from '../data/cifar10';
import { findDataFile } from './run';

/** Time and calls of one kernel name, accumulated. */
export interface KernelTime { name: string; calls: number; ms: number }

/**
 * Wraps every kernel registered for `backendName` with a timer (re-registers them; call once per
 * process, after the engine registered its own kernels). A kernel called from inside another
 * registered kernel counts as part of the outer one.
 * @returns the accumulator (name -> KernelTime) and a reset function
 */
export function instrumentKernels(backendName: string): { table: Map<string, KernelTime>; reset(): void } {
  const table = new Map<string, KernelTime>();
  let depth = 0;
  for (const k of tf.getKernelsForBackend(backendName)) {
    const inner = k.kernelFunc;
    const entry: KernelTime = { name: k.kernelName, calls: 0, ms: 0 };
    table.set(k.kernelName, entry);
    tf.unregisterKernel(k.kernelName, backendName);
    tf.registerKernel({
      ...k,
      kernelFunc: ((args: Parameters<tf.KernelFunc>[0]) => {
        // a kernel that runs another registered kernel (BN_TRAIN_RELU runs BN_TRAIN) is timed once, as the outer one
        if (depth > 0) return inner(args);
        depth++;
        const t0 = performance.now();
        try {
          return inner(args);
        } finally {
          entry.ms += performance.now() - t0;
          entry.calls++;
          depth--;
        }
      }) as tf.KernelFunc,
    });
  }
  return { table, reset: () => table.forEach((e) => { e.calls = 0; e.ms = 0; }) };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string, dflt: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
  };
  const backend = arg('--backend', 'auto');
  const steps = Number(arg('--steps', '10'));
  const warmup = Number(arg('--warmup', '3'));
  const evaluating = argv.includes('--evaluate');
  const batch = Number(arg('--batch', evaluating ? '200' : '128'));
  const { selectEngine } = await import('../engine/engine');
  const info = await selectEngine({ backend: backend as 'auto' });
  if (info.tfBackend !== 'wasm') throw new Error(`profile needs a wasm-based engine, got ${info.backend}`);
  const { createTrainState, evaluate, trainStep } = await import('../train/step');
  const raw = readCifar10File(findDataFile(arg('--data', '') || undefined));
  const state = createTrainState({ depth: 20, seed: 1 });
  const rng = createRng(12345);
  const buffer = new Float32Array(batch * 3072);
  const idx = new Int32Array(batch);
  let cursor = 0;
  const next = () => {
    for (let i = 0; i < batch; i++) idx[i] = (cursor++ * 7919) % raw.count;
    return makeBatch(raw, idx, rng, buffer);
  };
  const prof = instrumentKernels('wasm');
  // one step: a training step on the next batch, or the evaluation of the next `batch` records
  const records = (i: number) => {
    const o = (i * batch) % (raw.count - batch);
    return { count: batch, images: raw.images.subarray(o * 3072, (o + batch) * 3072), labels: raw.labels.subarray(o, o + batch) };
  };
  const step = evaluating
    ? (i: number) => { evaluate(state.model, records(i), batch); }
    : () => { const b = next(); trainStep(state, b.images, b.labels, 0.1); };
  for (let i = 0; i < warmup; i++) step(i);
  prof.reset();
  let total = 0;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step(warmup + i);
    total += performance.now() - t0;
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / steps;
  const rows = [...prof.table.values()].filter((e) => e.calls > 0).sort((a, b) => b.ms - a.ms);
  const stepMs = total / steps;
  const kernelMs = rows.reduce((s, e) => s + e.ms, 0) / steps;
  console.log(`profile: ResNet-20 ${evaluating ? 'evaluation' : 'training'}, batch ${batch}, engine ${info.backend}, ${steps} steps after ${warmup} warm-up: ${stepMs.toFixed(1)} ms/step, `
    + `CPU ${cpuMs.toFixed(1)} ms/step (wall includes time lost to other processes)`);
  console.log('| kernel | calls/step | ms/step | share |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const e of rows) {
    console.log(`| ${e.name} | ${(e.calls / steps).toFixed(0)} | ${(e.ms / steps).toFixed(2)} | ${(100 * e.ms / steps / stepMs).toFixed(1)}% |`);
  }
  console.log(`| outside kernels (tape, engine, JS) | | ${(stepMs - kernelMs).toFixed(2)} | ${(100 * (stepMs - kernelMs) / stepMs).toFixed(1)}% |`);
  console.log(JSON.stringify({ backend: info.backend, mode: evaluating ? 'evaluation' : 'training', batch, stepMs, cpuMs, kernels: rows.map((e) => ({ name: e.name, calls: e.calls / steps, ms: e.ms / steps })) }));
  state.dispose();
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  });
}
