/**
 * What a protocol will cost, printed by `experiment` before anything is trained: the epochs still to
 * train (each pending run from its last finished epoch to its maximum), priced at the throughput
 * measured in this process on the chosen engine (src/train/throughput.ts), as core-hours and as wall
 * hours with the chosen workers and threads.
 */
import type { RunConfig } from '../train/config';
import { formatDuration, secondsPerEpoch, type Throughput } from '../train/throughput';

export interface ProtocolCost {
  runs: number;
  /** Epochs still to train, summed over the pending runs (an upper bound when runs stop at their target). */
  epochs: number;
  /** Seconds of one core per epoch of one run: training images / training speed + evaluated images / evaluation speed. */
  secondsPerEpoch: number;
  /** epochs x secondsPerEpoch / 3600. */
  coreHours: number;
  /** Wall hours: every process and thread at the measured speed (low) .. the machine no faster than one core (high). */
  wallHours: { low: number; high: number };
  /** True when the protocol stops runs at their target (the figures are then upper bounds). */
  upperBound: boolean;
}

/**
 * Prices the pending runs.
 * @param pending runs still to train, with the epochs each has finished (0 for a new run)
 * @param images training images per epoch and images evaluated per epoch (validation + test)
 * @param t throughput measured on this machine (one process, one thread)
 * @param parallel runs trained at once (workers, 1 in this process) and threads per run
 */
export function protocolCost(pending: { config: RunConfig; epochsDone: number }[], images: { train: number; evaluated: number },
  t: Throughput, parallel: { workers: number; threads: number }): ProtocolCost {
  const epochs = pending.reduce((a, p) => a + Math.max(0, p.config.maxEpochs - p.epochsDone), 0);
  const perEpoch = secondsPerEpoch(t, images.train, images.evaluated);
  const coreHours = (epochs * perEpoch) / 3600;
  const cores = Math.max(1, Math.min(pending.length, parallel.workers)) * Math.max(1, parallel.threads);
  return {
    runs: pending.length, epochs, secondsPerEpoch: perEpoch, coreHours,
    wallHours: { low: coreHours / cores, high: coreHours },
    upperBound: pending.some((p) => p.config.stopAtTarget && p.config.target !== null),
  };
}

const hours = (h: number) => formatDuration(h * 3600);

/** One line: "cost: ..." (see protocolCost). */
export function costText(c: ProtocolCost, t: Throughput, parallel: { workers: number; threads: number }): string {
  if (c.runs === 0) return 'cost: nothing to train';
  const how = `${parallel.workers} worker${parallel.workers === 1 ? '' : 's'} x ${parallel.threads} thread${parallel.threads === 1 ? '' : 's'}`;
  return `cost: ${c.runs} run${c.runs === 1 ? '' : 's'}, ${c.upperBound ? 'at most ' : ''}${c.epochs} epochs to train at ` +
    `${formatDuration(c.secondsPerEpoch)} per epoch on one core (measured here on ${t.backend}: ${t.trainImagesPerSecond.toFixed(0)} training, ` +
    `${t.evalImagesPerSecond.toFixed(0)} evaluation images/s): ${c.coreHours.toFixed(c.coreHours < 10 ? 2 : 1)} core-hours, ` +
    `${hours(c.wallHours.low)}${c.wallHours.high > c.wallHours.low * 1.05 ? ` to ${hours(c.wallHours.high)}` : ''} wall with ${how}` +
    `${c.upperBound ? ' (upper bounds: runs stop at their target)' : ''}`;
}
