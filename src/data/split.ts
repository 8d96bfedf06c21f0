import type { Cifar10Raw } from './cifar10';
import { CIFAR10_IMAGE_BYTES } from './cifar10';
import { createRng, deriveSeed, permutation } from './random';

/** Takes the records at `indices` (in that order). */
export function selectRecords(raw: Cifar10Raw, indices: ArrayLike<number>): Cifar10Raw {
  const count = indices.length;
  const images = new Uint8Array(count * CIFAR10_IMAGE_BYTES);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const j = indices[i];
    images.set(raw.images.subarray(j * CIFAR10_IMAGE_BYTES, (j + 1) * CIFAR10_IMAGE_BYTES), i * CIFAR10_IMAGE_BYTES);
    labels[i] = raw.labels[j];
  }
  return { images, labels, count };
}

/**
 * Seeded train/validation split of the training set: a permutation of all records from `seed`;
 * the first `validationCount` go to validation, the rest to training (both kept in file order).
 * The full set gives 45,000 / 5,000.
 * @param raw training-set records (N)
 * @param validationCount number of validation images, 0 < validationCount < N
 * @param seed split seed (the same for every run of a protocol, so all runs share one validation set)
 * @throws RangeError when validationCount is not in (0, N)
 */
export function splitTrainValidation(raw: Cifar10Raw, validationCount: number, seed: number): { train: Cifar10Raw; validation: Cifar10Raw } {
  const { train, validation } = splitIndices(raw.count, validationCount, seed);
  return { train: selectRecords(raw, train), validation: selectRecords(raw, validation) };
}

/**
 * The record indices of splitTrainValidation (both ascending, i.e. in file order): what an
 * independent trainer needs to train on the same images (npm run fidelity hands them to PyTorch).
 * @param count records in the training files (N)
 * @throws RangeError when validationCount is not in (0, N)
 */
export function splitIndices(count: number, validationCount: number, seed: number): { train: number[]; validation: number[] } {
  if (!Number.isInteger(validationCount) || validationCount <= 0 || validationCount >= count) {
    throw new RangeError(`validationCount must be an integer in (0, ${count}), got ${validationCount}`);
  }
  const perm = permutation(count, createRng(deriveSeed(seed, 'split')));
  const validation = Array.from(perm.subarray(0, validationCount)).sort((a, b) => a - b);
  const train = Array.from(perm.subarray(validationCount)).sort((a, b) => a - b);
  return { train, validation };
}
