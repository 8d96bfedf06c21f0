/**
 * Collective operations for data-parallel training: when one run's batch is split across
 * replicas (worker threads, src/train/parallel.ts), batch normalisation must still normalise with
 * the statistics of the WHOLE batch (synchronised batch norm), so that the parallel run computes
 * the same function as the single-threaded one. The fused batch-norm kernels (wasm/fused.ts) call
 * the collective installed here, if any, to combine their per-channel sums across replicas.
 *
 * The engine only defines the interface; the trainer installs an implementation.
 */

/** Per-channel statistics of one replica's share of a batch. */
export interface ChannelMoments {
  /** Number of values per channel (N*H*W of the replica's share). */
  count: number;
  /** Per-channel mean, length C. */
  mean: Float64Array;
  /** Per-channel sum of squared deviations from `mean` (M2), length C. */
  m2: Float64Array;
}

/**
 * Combines per-replica quantities into whole-batch ones. Every replica calls the methods in the
 * same order with the same channel count; the result is identical on every replica and is
 * combined in a fixed replica order (0, 1, ...), so a run is deterministic.
 */
export interface Collective {
  /** Replicas taking part (>= 1). */
  readonly size: number;
  /**
   * Whole-batch moments from every replica's moments (Chan, Golub & LeVeque 1979 pairwise
   * update: mean = sum n_k mean_k / n, M2 = sum M2_k + sum n_k (mean_k - mean)^2).
   */
  combineMoments(local: ChannelMoments): ChannelMoments;
  /** Element-wise sums over replicas of the per-channel totals `a` and `b` (each length C), and of `count`. */
  sumTotals(count: number, a: Float64Array, b: Float64Array): { count: number; a: Float64Array; b: Float64Array };
}

let current: Collective | null = null;

/**
 * Installs (or, with null, removes) the collective the batch-norm kernels of this thread use.
 * @param c a collective, or null for single-replica training (the default)
 */
export function setCollective(c: Collective | null): void {
  current = c;
}

/** The installed collective, or null. */
export function getCollective(): Collective | null {
  return current;
}

/**
 * Chan et al.'s pairwise combination of moments, folded over `parts` in the given order.
 * @param parts per-replica moments, all with the same channel count
 * @returns the moments of the union
 */
export function foldMoments(parts: ChannelMoments[]): ChannelMoments {
  const c = parts[0].mean.length;
  let count = 0;
  const mean = new Float64Array(c);
  const m2 = new Float64Array(c);
  for (const p of parts) {
    if (p.count === 0) continue;
    const total = count + p.count;
    for (let k = 0; k < c; k++) {
      const delta = p.mean[k] - mean[k];
      mean[k] += delta * (p.count / total);
      m2[k] += p.m2[k] + delta * delta * (count * p.count / total);
    }
    count = total;
  }
  return { count, mean, m2 };
}
