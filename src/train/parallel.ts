/**
 * One training run on several cores: a data-parallel trainer over worker threads. Each of
 * `threads` replicas (src/train/parallel-worker.ts, one wasm engine each, with oneDNN's convolutions when
 * the creating thread uses them) holds the same model
 * and optimizer (same seed), takes an equal share of every batch, normalises with the WHOLE
 * batch's statistics (synchronised batch norm through engine/collective.ts), and the gradients
 * are summed in a fixed replica order before the identical SGD update on every replica. So a
 * step computes the same function as the single-threaded trainStep (src/train/step.ts): results
 * differ only by float summation order, and a run is deterministic for a given thread count.
 *
 * Data parallelism was chosen over wasm threads because the wasm backend's threaded build does
 * not start its thread pool under Node (tfjs issue 3830: the backend disables it there).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { EXCHANGE_SLOT, type ReplicaData } from './parallel-worker';
import type { StepResult, TrainState, TrainStateOptions } from './step';
import type { ResNet } from '../model/resnet';
import type { Cifar10Raw } from '../data/cifar10';
import type { Variable } from '@tensorflow/tfjs';
import { currentEngine } from '../engine/engine';
import { availableCpus } from '../runs/cpus';

/** Options of createParallelTrainer. */
export interface ParallelTrainerOptions extends TrainStateOptions {
  /** Replicas (worker threads), >= 1; default: one per CPU this process may use (affinity, cgroup quota, Slurm: src/runs/cpus.ts). */
  threads?: number;
  /** Largest batch size a step will be given (default 128), >= 1. */
  maxBatch?: number;
  /** Engine of the replicas (default: 'onednn' when this thread selected it, else 'wasm'). */
  backend?: 'onednn' | 'wasm';
}

/** A model trained by `threads` replicas; every method runs on all of them. */
export interface ParallelTrainer {
  readonly threads: number;
  /** Trainable parameters of the model. */
  readonly parameters: number;
  /** Trainable variables, running statistics and SGD momentum buffers, in checkpoint order (replica 0's copy). */
  state(): Promise<Float32Array[]>;
  /** Sets every replica's variables, running statistics and momentum buffers (state()'s layout). */
  load(values: Float32Array[]): Promise<void>;
  /**
   * One SGD iteration on the batch (same contract as trainStep: NHWC images normalised,
   * n = labels.length, 1 <= n <= maxBatch; replica r takes rows [floor(r n / threads),
   * floor((r + 1) n / threads)), none when n < threads: that replica only takes part in the
   * exchanges and applies the same update).
   * @returns the whole batch's mean cross-entropy (nats) and correct count, before the update
   */
  step(images: Float32Array, labels: Int32Array, learningRate: number): Promise<StepResult>;
  /**
   * Loss and accuracy of the model in inference mode (running statistics) on a set, split across the
   * replicas: replica r evaluates rows [floor(r n / threads), floor((r + 1) n / threads)) in batches of
   * `batchSize` (evaluateTotals), and their totals are added in rank order. The same correct count as
   * evaluate(model, set) on the same weights (the logits of an image do not depend on its batch); the
   * loss differs from it by the rounding of other float32 sums per batch (~1e-7 relative). A set is copied to shared memory once
   * per trainer (kept by identity of the object).
   * @returns mean cross-entropy (nats) and accuracy in [0, 1]
   */
  evaluate(set: Cifar10Raw, batchSize?: number): Promise<{ loss: number; accuracy: number }>;
  /** Trainable variables then running statistics, in the model's order (replica 0's copy). */
  weights(): Promise<Float32Array[]>;
  /** Live tensors and resident memory of each replica. */
  memory(): Promise<{ numTensors: number; rssMB: number }[]>;
  /** Per replica: barriers passed since the start, and milliseconds spent waiting in them. */
  waits(): Promise<{ barriers: number; waitedMs: number }[]>;
  /** Stops the replicas. */
  close(): Promise<void>;
}

type Reply = { ok: boolean; error?: string; [k: string]: unknown };

/**
 * Starts `threads` replicas and resolves when all are ready.
 * @throws Error when threads or maxBatch is not a positive integer, or
 *   when a replica fails to start (its error message)
 */
export async function createParallelTrainer(options: ParallelTrainerOptions): Promise<ParallelTrainer> {
  const threads = options.threads ?? availableCpus().count;
  const maxBatch = options.maxBatch ?? 128;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be an integer >= 1, got ${threads}`);
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`maxBatch must be an integer >= 1, got ${maxBatch}`);
  const { threads: _t, maxBatch: _m, backend: _b, ...trainOptions } = options;
  // replicas train on the engine of this thread (oneDNN's convolutions when it uses them), else wasm
  const backend = options.backend ?? (currentEngine()?.backend === 'onednn' ? 'onednn' : 'wasm');
  const shared = {
    control: new SharedArrayBuffer(8),
    exchange: new SharedArrayBuffer(2 * threads * EXCHANGE_SLOT * 8),
    images: new SharedArrayBuffer(maxBatch * 3072 * 4),
    labels: new SharedArrayBuffer(maxBatch * 4),
  };
  const workers = Array.from({ length: threads }, (_, rank) => new Worker(path.join(__dirname, 'parallel-worker.js'), {
    workerData: { rank, size: threads, options: trainOptions, backend, ...shared } satisfies ReplicaData,
  }));
  const replies = workers.map(() => [] as ((r: Reply) => void)[]);
  let failure: Error | null = null;
  workers.forEach((w, i) => {
    w.on('message', (r: Reply) => replies[i].shift()?.(r));
    w.on('error', (e) => { failure = e; replies[i].splice(0).forEach((f) => f({ ok: false, error: e.message })); });
    // a replica gone without an error event (killed, process.exit) fails what waits on it instead of hanging
    w.on('exit', (code) => {
      failure ??= new Error(`replica ${i} exited (code ${code})`);
      replies[i].splice(0).forEach((f) => f({ ok: false, error: failure!.message }));
    });
  });
  const ask = (i: number, msg?: object) => new Promise<Reply>((resolve, reject) => {
    if (failure) { reject(failure); return; }
    replies[i].push((r) => (r.ok ? resolve(r) : reject(new Error(`parallel trainer, replica ${i}: ${r.error}`))));
    if (msg) workers[i].postMessage(msg);
  });
  const all = async (msg?: object) => Promise.all(workers.map((_, i) => ask(i, msg)));
  let count = 0;
  try {
    // replicas report the model's parameter count; then they get the gradient slots
    count = (await all())[0].parameters as number;
    await all({ cmd: 'gradients', buffer: new SharedArrayBuffer(2 * threads * count * 4) });
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  const images = new Float32Array(shared.images);
  const labels = new Int32Array(shared.labels);
  const sets = new Map<Cifar10Raw, number>();
  return {
    threads,
    parameters: count,
    async step(x, y, learningRate) {
      const n = y.length;
      if (n > maxBatch || n < 1) throw new Error(`batch of ${n} images: needs 1 to maxBatch (${maxBatch})`);
      if (x.length !== n * 3072) throw new Error(`images: expected ${n * 3072} values for ${n} labels, got ${x.length}`);
      images.set(x);
      labels.set(y);
      const r = await all({ cmd: 'step', n, lr: learningRate });
      // every replica returns its share; sum in rank order
      let loss = 0;
      let correct = 0;
      for (const p of r) { loss += p.loss as number; correct += p.correct as number; }
      return { loss, correct };
    },
    async evaluate(set, batchSize = 200) {
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`evaluate: batchSize must be an integer >= 1, got ${batchSize}`);
      if (set.count < 1) throw new Error('evaluate: the set has no images');
      let id = sets.get(set);
      if (id === undefined) {
        id = sets.size;
        const sharedImages = new SharedArrayBuffer(set.count * 3072);
        const sharedLabels = new SharedArrayBuffer(set.count);
        new Uint8Array(sharedImages).set(set.images.subarray(0, set.count * 3072));
        new Uint8Array(sharedLabels).set(set.labels.subarray(0, set.count));
        await all({ cmd: 'set', id, n: set.count, images: sharedImages, labels: sharedLabels });
        sets.set(set, id);
      }
      const parts = await all({ cmd: 'evaluate', id, batchSize });
      let lossSum = 0;
      let correct = 0;
      for (const p of parts) { lossSum += p.lossSum as number; correct += p.correct as number; }
      return { loss: lossSum / set.count, accuracy: correct / set.count };
    },
    async weights() {
      return (await ask(0, { cmd: 'weights' })).weights as Float32Array[];
    },
    async state() {
      return (await ask(0, { cmd: 'state' })).state as Float32Array[];
    },
    async load(values) {
      await all({ cmd: 'load', state: values });
    },
    async memory() {
      return (await all({ cmd: 'memory' })).map((r) => ({ numTensors: r.numTensors as number, rssMB: r.rssMB as number }));
    },
    async waits() {
      return (await all({ cmd: 'waits' })).map((r) => ({ barriers: r.barriers as number, waitedMs: r.waitedMs as number }));
    },
    async close() {
      // politely (each replica frees its tensors), but a replica stuck at a barrier after another
      // one failed never answers: terminate every thread after at most 2 s either way
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, 2000); });
      await Promise.race([all({ cmd: 'close' }).catch(() => undefined), late]);
      clearTimeout(timer);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * Copies the replicas' weights (trainable variables and running statistics) into `model`, a
 * main-thread model of the same depth, e.g. before evaluate(model, ...) at the end of an epoch.
 * @throws Error when the shapes do not match
 */
export async function copyWeightsTo(trainer: ParallelTrainer, model: ResNet): Promise<void> {
  await assignAll('copyWeightsTo', [...model.trainable, ...model.runningStatistics], await trainer.weights());
}

/**
 * Copies the replicas' whole training state (trainable variables, running statistics, SGD
 * momentum) into `state`, a main-thread TrainState of the same depth: then saveCheckpoint(state)
 * and evaluate(state.model) see exactly what the replicas hold.
 * @throws Error when the shapes do not match
 */
export async function copyStateTo(trainer: ParallelTrainer, state: TrainState): Promise<void> {
  await assignAll('copyStateTo', [...state.model.trainable, ...state.model.runningStatistics, ...state.optimizer.velocities], await trainer.state());
}

async function assignAll(what: string, vars: Variable[], values: Float32Array[]): Promise<void> {
  if (values.length !== vars.length) throw new Error(`${what}: ${values.length} tensors from the replicas, the main thread has ${vars.length}`);
  const tf = await import('@tensorflow/tfjs');
  vars.forEach((v, i) => {
    if (values[i].length !== v.size) throw new Error(`${what}: variable ${v.name} has ${v.size} values, the replicas sent ${values[i].length}`);
    tf.tidy(() => v.assign(tf.tensor(values[i], v.shape)));
  });
}

/** Sets every replica's training state from `state` (e.g. after restoreCheckpoint(state) on the main thread). */
export async function loadStateFrom(trainer: ParallelTrainer, state: TrainState): Promise<void> {
  await trainer.load([...state.model.trainable, ...state.model.runningStatistics, ...state.optimizer.velocities].map((v) => v.dataSync() as Float32Array));
}
