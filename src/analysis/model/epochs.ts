/** Iterations per epoch of a protocol's runs, as the learning-rate schedules figure draws them. */
import type { EpochRecord } from '../../store/types';
import { trainImagesUsed } from '../../train/config';
import { iterationsPerEpoch } from '../../train/loop';

/** Training-file images of the full CIFAR-10 set. */
const CIFAR10_TRAIN_FILE_IMAGES = 50000;

/**
 * Iterations per epoch of the full CIFAR-10 protocols (45,000 training images after the 5,000
 * validation images, batch 128: 352), by the training loop's rule (iterationsPerEpoch).
 */
export const FULL_SET_ITERATIONS_PER_EPOCH = iterationsPerEpoch(trainImagesUsed(CIFAR10_TRAIN_FILE_IMAGES, 5000, 1), 128);

/**
 * Iterations per epoch of an arm's runs: the iteration count of their first epoch record, else
 * (no epoch recorded yet) FULL_SET_ITERATIONS_PER_EPOCH.
 */
export function armIterationsPerEpoch(runIds: readonly string[], epochs: readonly EpochRecord[]): number {
  const first = epochs.find((e) => runIds.includes(e.runId) && e.epoch === 1);
  return first && first.iteration > 0 ? first.iteration : FULL_SET_ITERATIONS_PER_EPOCH;
}
