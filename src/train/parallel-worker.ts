/**
 * One replica of the data-parallel trainer (src/train/parallel.ts), run in a worker thread: its
 * own wasm engine and a copy of the model and optimizer built from the same seed, its share of
 * every batch, synchronised batch norm and a fixed-order gradient all-reduce through a
 * SharedArrayBuffer (Atomics barrier), so that every replica applies the same update and holds
 * the same weights after every step.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { selectEngine } from '../engine/engine';
import { setCollective, foldMoments, type Collective, type ChannelMoments } from '../engine/collective';
import { createTrainState, evaluateTotals, runToEnd, type TrainStateOptions } from './step';
import type { BatchStatistics } from '../model/resnet';

/** What the main thread passes to every replica. */
export interface ReplicaData {
  rank: number;
  size: number;
  options: TrainStateOptions;
  /** The engine of every replica: the creating thread's ('onednn' or 'wasm'). */
  backend: 'onednn' | 'wasm';
  /** Int32 control words: [0] barrier count, [1] barrier generation. */
  control: SharedArrayBuffer;
  /** f64 exchange slots: 2 parities x size x EXCHANGE_SLOT. */
  exchange: SharedArrayBuffer;
  /** Batch input: f32 images [maxBatch*3072] and i32 labels [maxBatch]. */
  images: SharedArrayBuffer;
  labels: SharedArrayBuffer;
}

/** Doubles per replica and parity in the exchange area: count + 2 x 1024 channels. */
export const EXCHANGE_SLOT = 1 + 2 * 1024;

/**
 * A Collective over `size` threads sharing `control` and `exchange`. Each call: write this
 * replica's slot (of the current parity), wait at the barrier, read all slots in rank order.
 * Slots alternate between two parities, so a slot is rewritten only after every replica has
 * passed the next barrier, i.e. finished reading it.
 */
export class SharedCollective implements Collective {
  private readonly ctl: Int32Array;
  private readonly ex: Float64Array;
  private parity = 0;
  /**
   * True while this replica has no rows of the current batch (a batch smaller than the replica
   * count, e.g. an epoch's last): it runs a placeholder row to take part in every exchange, and
   * contributes count 0 and zero totals, so the whole-batch results are those of the others.
   */
  idle = false;

  constructor(readonly rank: number, readonly size: number, control: SharedArrayBuffer, exchange: SharedArrayBuffer) {
    this.ctl = new Int32Array(control);
    this.ex = new Float64Array(exchange);
  }

  /** Barriers passed, and milliseconds spent waiting in them (src/bench: the cost of synchronisation). */
  readonly waits = { barriers: 0, waitedMs: 0 };

  /**
   * Blocks until all `size` replicas have called it (generation barrier); a waiting replica sleeps
   * in Atomics.wait (spinning first was no faster: 748 against 768 images/s, 2-core AMD EPYC).
   */
  barrier(): void {
    const gen = Atomics.load(this.ctl, 1);
    this.waits.barriers++;
    if (Atomics.add(this.ctl, 0, 1) === this.size - 1) {
      Atomics.store(this.ctl, 0, 0);
      Atomics.add(this.ctl, 1, 1);
      Atomics.notify(this.ctl, 1);
    } else {
      const t0 = performance.now();
      while (Atomics.load(this.ctl, 1) === gen) Atomics.wait(this.ctl, 1, gen);
      this.waits.waitedMs += performance.now() - t0;
    }
  }

  private exchangeRound(count: number, a: Float64Array, b: Float64Array): { count: number; a: Float64Array; b: Float64Array }[] {
    const c = a.length;
    if (c > 1024) throw new Error(`collective: ${c} channels, at most 1024`);
    const base = (p: number, r: number) => (p * this.size + r) * EXCHANGE_SLOT;
    const mine = base(this.parity, this.rank);
    this.ex[mine] = this.idle ? 0 : count;
    if (this.idle) this.ex.fill(0, mine + 1, mine + 1 + 2 * c);
    else {
      this.ex.set(a, mine + 1);
      this.ex.set(b, mine + 1 + c);
    }
    this.barrier();
    const out = [];
    for (let r = 0; r < this.size; r++) {
      const o = base(this.parity, r);
      out.push({ count: this.ex[o], a: this.ex.slice(o + 1, o + 1 + c), b: this.ex.slice(o + 1 + c, o + 1 + 2 * c) });
    }
    this.parity ^= 1;
    return out;
  }

  combineMoments(local: ChannelMoments): ChannelMoments {
    return foldMoments(this.exchangeRound(local.count, local.mean, local.m2).map((p) => ({ count: p.count, mean: p.a, m2: p.b })));
  }

  sumTotals(count: number, a: Float64Array, b: Float64Array): { count: number; a: Float64Array; b: Float64Array } {
    const parts = this.exchangeRound(count, a, b);
    const sa = new Float64Array(a.length);
    const sb = new Float64Array(b.length);
    let n = 0;
    for (const p of parts) {
      n += p.count;
      for (let k = 0; k < a.length; k++) { sa[k] += p.a[k]; sb[k] += p.b[k]; }
    }
    return { count: n, a: sa, b: sb };
  }
}

async function main(): Promise<void> {
  const d = workerData as ReplicaData;
  const port = parentPort!;
  await selectEngine({ backend: d.backend });
  const col = new SharedCollective(d.rank, d.size, d.control, d.exchange);
  setCollective(col);
  const state = createTrainState(d.options);
  const vars = state.model.trainable;
  const total = vars.reduce((s, v) => s + v.size, 0);
  let grads = new Float32Array(0);
  const images = new Float32Array(d.images);
  const labels = new Int32Array(d.labels);
  let gradParity = 0;
  // trainable variables, running statistics, momentum buffers: the checkpoint's order (checkpoint.ts)
  const stateVars = [...vars, ...state.model.runningStatistics, ...state.optimizer.velocities];
  // evaluation sets shared by the main thread (images and labels in SharedArrayBuffers), by id
  const sets = new Map<number, { images: Uint8Array; labels: Uint8Array; count: number }>();
  port.on('message', (m: {
    cmd: string; n?: number; lr?: number; buffer?: SharedArrayBuffer; state?: Float32Array[];
    id?: number; images?: SharedArrayBuffer; labels?: SharedArrayBuffer; batchSize?: number;
  }) => {
    try {
      if (m.cmd === 'gradients') {
        // f32 gradient slots: 2 parities x size x parameters
        grads = new Float32Array(m.buffer!);
        port.postMessage({ ok: true });
      } else if (m.cmd === 'step') port.postMessage({ ok: true, ...step(m.n!, m.lr!) });
      else if (m.cmd === 'weights') {
        port.postMessage({ ok: true, weights: [...vars, ...state.model.runningStatistics].map((v) => v.dataSync() as Float32Array) });
      } else if (m.cmd === 'state') port.postMessage({ ok: true, state: stateVars.map((v) => v.dataSync() as Float32Array) });
      else if (m.cmd === 'load') {
        const values = m.state!;
        if (values.length !== stateVars.length) throw new Error(`load: ${values.length} tensors, the replica has ${stateVars.length}`);
        stateVars.forEach((v, i) => {
          if (values[i].length !== v.size) throw new Error(`load: tensor ${i} has ${values[i].length} values, the replica's ${v.size}`);
          tf.tidy(() => v.assign(tf.tensor(values[i], v.shape, 'float32')));
        });
        port.postMessage({ ok: true });
      } else if (m.cmd === 'set') {
        sets.set(m.id!, { images: new Uint8Array(m.images!), labels: new Uint8Array(m.labels!), count: m.n! });
        port.postMessage({ ok: true });
      } else if (m.cmd === 'evaluate') port.postMessage({ ok: true, ...evaluateShare(m.id!, m.batchSize!) });
      else if (m.cmd === 'waits') port.postMessage({ ok: true, ...col.waits });
      else if (m.cmd === 'memory') port.postMessage({ ok: true, numTensors: tf.memory().numTensors, rssMB: process.memoryUsage().rss / 2 ** 20 });
      else if (m.cmd === 'close') {
        state.dispose();
        setCollective(null);
        port.postMessage({ ok: true });
        port.close();
      } else throw new Error(`unknown command ${m.cmd}`);
    } catch (e) {
      port.postMessage({ ok: false, error: (e as Error).stack ?? String(e) });
    }
  });

  /**
   * Inference on this replica's rows [floor(rank n / size), floor((rank + 1) n / size)) of a shared
   * set (no exchange: batch norm uses the running statistics, the same on every replica).
   */
  function evaluateShare(id: number, batchSize: number): { lossSum: number; correct: number } {
    const set = sets.get(id);
    if (!set) throw new Error(`evaluate: no set ${id}`);
    const { lo, share } = rowsOf(set.count);
    const part = { count: share, images: set.images.subarray(lo * 3072, (lo + share) * 3072), labels: set.labels.subarray(lo, lo + share) };
    return runToEnd(evaluateTotals(state.model, part, batchSize));
  }

  /** This replica's rows [lo, lo + share) of n: shares differ by at most one row. */
  function rowsOf(n: number): { lo: number; share: number } {
    const lo = Math.floor((d.rank * n) / d.size);
    return { lo, share: Math.floor(((d.rank + 1) * n) / d.size) - lo };
  }

  /** Forward/backward on this replica's rows, all-reduce, identical SGD update on every replica. */
  function step(n: number, lr: number): { loss: number; correct: number } {
    // rows [lo, hi) of the batch: shares differ by at most one row; a replica with none (n < size)
    // runs one placeholder row (zeros) whose loss is multiplied by 0, whose statistics the collective
    // leaves out and whose gradients are replaced by zeros, so that it still takes part in every
    // exchange and applies the same update
    const { lo, share } = rowsOf(n);
    const idle = share === 0;
    const rows = idle ? 1 : share;
    col.idle = idle;
    const packed = tf.tidy(() => {
      const x = idle ? tf.zeros<tf.Rank.R4>([1, 32, 32, 3]) : tf.tensor4d(images.subarray(lo * 3072, (lo + share) * 3072), [share, 32, 32, 3]);
      const y = idle ? tf.zeros([1], 'int32') : tf.tensor1d(labels.subarray(lo, lo + share), 'int32');
      let statistics: BatchStatistics[] = [];
      let correct: tf.Tensor = tf.scalar(0);
      const { value, grads: g } = tf.variableGrads(() => {
        const out = state.model.forward(x, true);
        statistics = out.statistics.map((s) => ({ ...s, mean: tf.keep(s.mean), variance: tf.keep(s.variance) }));
        correct = tf.keep(idle ? tf.scalar(0) : tf.sum(tf.cast(tf.equal(tf.argMax(out.logits, 1), y), 'float32')));
        // this replica's share of the whole batch's mean cross-entropy
        const sum = tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), out.logits, undefined, undefined, tf.Reduction.SUM);
        return (idle ? tf.mul(sum, 0) : tf.div(sum, n)) as tf.Scalar;
      }, vars);
      // all-reduce: write this replica's gradients, barrier, sum every replica's in rank order
      const slot = (p: number, r: number) => (p * d.size + r) * total;
      let o = slot(gradParity, d.rank);
      // (an idle replica contributes zeros: batch norm's backward gives its placeholder row a nonzero
      // input gradient from the whole-batch totals even though its loss is 0)
      if (idle) grads.fill(0, o, o + total);
      else {
        for (const v of vars) {
          grads.set(g[v.name].dataSync() as Float32Array, o);
          o += v.size;
        }
      }
      col.barrier();
      const summed: tf.NamedTensorMap = {};
      o = 0;
      for (const v of vars) {
        const acc = new Float32Array(v.size);
        for (let r = 0; r < d.size; r++) {
          const src = grads.subarray(slot(gradParity, r) + o, slot(gradParity, r) + o + v.size);
          for (let i = 0; i < v.size; i++) acc[i] += src[i];
        }
        summed[v.name] = tf.tensor(acc, v.shape);
        o += v.size;
      }
      gradParity ^= 1;
      state.optimizer.step(summed, lr);
      // the batch-norm statistics are the whole batch's (synchronised): n images, not this share
      state.model.updateRunningStatistics(statistics.map((s) => ({ ...s, count: (s.count / rows) * n })));
      statistics.forEach((s) => { s.mean.dispose(); s.variance.dispose(); });
      const r = tf.stack([value, correct]);
      correct.dispose();
      return r;
    });
    const [loss, correct] = packed.dataSync();
    packed.dispose();
    col.idle = false;
    return { loss, correct };
  }
  port.postMessage({ ok: true, ready: true, parameters: total });
}

// a replica only in a worker thread (parallel.ts imports this module for its types and constants)
if (!isMainThread && parentPort !== null) {
  main().catch((e) => parentPort?.postMessage({ ok: false, error: (e as Error).stack ?? String(e) }));
}
