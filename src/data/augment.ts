/**
 * Normalisation and the standard CIFAR augmentation of He et al. 2015 §4.2 (as in the reference
 * PyTorch trainer akamaster/pytorch_resnet_cifar10: RandomHorizontalFlip, RandomCrop(32, padding=4),
 * ToTensor, Normalize): pad 4 pixels of zero (black, before normalisation) on each side, take a
 * random 32x32 crop, flip horizontally with probability 1/2.
 */
import { CIFAR10_IMAGE_BYTES, type Cifar10Raw } from './cifar10';
import type { Rng } from './random';

/** Per-channel mean and standard deviation of the CIFAR-10 training set, in [0, 1] units (R, G, B). */
export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465] as const;
export const CIFAR10_STD = [0.247, 0.2435, 0.2616] as const;

const SIZE = 32;
const PLANE = SIZE * SIZE;
const PAD = 4;

/** Lookup tables byte -> normalised value per channel. */
const LUT: Float32Array[] = [0, 1, 2].map((c) => {
  const t = new Float32Array(256);
  for (let v = 0; v < 256; v++) t[v] = (v / 255 - CIFAR10_MEAN[c]) / CIFAR10_STD[c];
  return t;
});

/** A batch ready for the model. */
export interface Batch {
  /** Float32, NHWC [n, 32, 32, 3], normalised. */
  images: Float32Array;
  /** Int32 class indices, length n. */
  labels: Int32Array;
  size: number;
}

/**
 * Builds one normalised NHWC batch from raw CHW records, optionally augmented.
 * @param raw source records
 * @param indices record indices of the batch (length n)
 * @param rng generator for crop offsets and flips; undefined = no augmentation
 * @param out optional reusable output of length >= n*3072
 */
export function makeBatch(raw: Cifar10Raw, indices: ArrayLike<number>, rng?: Rng, out?: Float32Array): Batch {
  const n = indices.length;
  const images = out && out.length >= n * CIFAR10_IMAGE_BYTES ? out.subarray(0, n * CIFAR10_IMAGE_BYTES) : new Float32Array(n * CIFAR10_IMAGE_BYTES);
  const labels = new Int32Array(n);
  const zero = [LUT[0][0], LUT[1][0], LUT[2][0]];
  for (let b = 0; b < n; b++) {
    const rec = indices[b];
    labels[b] = raw.labels[rec];
    const src = rec * CIFAR10_IMAGE_BYTES;
    const dst = b * CIFAR10_IMAGE_BYTES;
    // crop offset in the padded 40x40 image: dy, dx in [0, 8]; source pixel = output + offset - 4
    const dy = rng ? rng.int(2 * PAD + 1) - PAD : 0;
    const dx = rng ? rng.int(2 * PAD + 1) - PAD : 0;
    const flip = rng ? rng.next() < 0.5 : false;
    for (let y = 0; y < SIZE; y++) {
      const sy = y + dy;
      const rowInside = sy >= 0 && sy < SIZE;
      for (let x = 0; x < SIZE; x++) {
        const cx = flip ? SIZE - 1 - x : x;
        const sx = cx + dx;
        const o = dst + (y * SIZE + x) * 3;
        if (rowInside && sx >= 0 && sx < SIZE) {
          const p = src + sy * SIZE + sx;
          images[o] = LUT[0][raw.images[p]];
          images[o + 1] = LUT[1][raw.images[p + PLANE]];
          images[o + 2] = LUT[2][raw.images[p + 2 * PLANE]];
        } else {
          images[o] = zero[0];
          images[o + 1] = zero[1];
          images[o + 2] = zero[2];
        }
      }
    }
  }
  return { images, labels, size: n };
}
