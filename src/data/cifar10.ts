/**
 * Reader for the official CIFAR-10 binary format (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html):
 * files of 3073-byte records = 1 label byte (0-9) + 1024 red, 1024 green, 1024 blue bytes, each a
 * 32x32 plane in row-major order.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CIFAR10_RECORD_BYTES = 3073;
export const CIFAR10_IMAGE_BYTES = 3072;
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const CIFAR10_TEST_FILE = 'test_batch.bin';

/** Sizes and md5s of the official release's files (../shared/data/README.md; the official archive). */
export const CIFAR10_OFFICIAL_FILES: Record<string, { bytes: number; md5: string }> = {
  'data_batch_1.bin': { bytes: 30730000, md5: '5dd7e06a14cb22eb9f671a540d1b7c25' },
  'data_batch_2.bin': { bytes: 30730000, md5: '5ea93a67294ea407fff1d09f752e9692' },
  'data_batch_3.bin': { bytes: 30730000, md5: '942cd6a4bcdd0dd3c604fbe906cb4421' },
  'data_batch_4.bin': { bytes: 30730000, md5: 'ae636b3ba5c66a11e91e8cb52e771fcb' },
  'data_batch_5.bin': { bytes: 30730000, md5: '53f37980c15c3d472c316c40844f3f0d' },
  'test_batch.bin': { bytes: 30730000, md5: '803d5f7f4d78ea53de84dbe85f74fb6d' },
};

/** Raw CIFAR-10 images as stored: `images` holds N records of 3072 bytes (R plane, G plane, B plane; 0-255). */
export interface Cifar10Raw {
  /** Uint8, length N*3072, per image channel-major (CHW) 3x32x32, values 0-255. */
  images: Uint8Array;
  /** Uint8, length N, class index 0-9. */
  labels: Uint8Array;
  /** Number of images N. */
  count: number;
}

/** Error in a data file: names the file and what is wrong. */
export class DataFileError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'DataFileError';
  }
}

/** md5 of a buffer as lowercase hex. */
export function md5Hex(bytes: Uint8Array): string {
  return crypto.createHash('md5').update(bytes).digest('hex');
}

/**
 * Parses CIFAR-10 binary records from bytes.
 * @param bytes whole file content, length a multiple of 3073
 * @param file file name used in error messages
 * @throws DataFileError when the length is not a positive multiple of 3073 or a label byte is > 9
 */
export function parseCifar10Records(bytes: Uint8Array, file: string): Cifar10Raw {
  if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new DataFileError(file, `size ${bytes.length} bytes is not a positive multiple of the ${CIFAR10_RECORD_BYTES}-byte record (truncated or not a CIFAR-10 binary file)`);
  }
  const count = bytes.length / CIFAR10_RECORD_BYTES;
  const images = new Uint8Array(count * CIFAR10_IMAGE_BYTES);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const off = i * CIFAR10_RECORD_BYTES;
    const label = bytes[off];
    if (label > 9) throw new DataFileError(file, `record ${i} (byte offset ${off}) has label ${label}, expected 0-9`);
    labels[i] = label;
    images.set(bytes.subarray(off + 1, off + CIFAR10_RECORD_BYTES), i * CIFAR10_IMAGE_BYTES);
  }
  return { images, labels, count };
}

/** Expected size and md5 of one file. */
export interface FileCheck {
  bytes: number;
  md5: string;
}

/**
 * Reads and checks one CIFAR-10 binary file.
 * @param file path to a .bin file
 * @param expected size and md5 to verify (skipped when undefined)
 * @throws DataFileError naming the file when it is missing, has the wrong size (truncated), the wrong md5 (altered), or a bad label
 */
export function readCifar10File(file: string, expected?: FileCheck): Cifar10Raw {
  if (!fs.existsSync(file)) throw new DataFileError(file, 'file is missing');
  const bytes = fs.readFileSync(file);
  if (expected) {
    if (bytes.length !== expected.bytes) {
      throw new DataFileError(file, `size is ${bytes.length} bytes, expected ${expected.bytes} (truncated or wrong file)`);
    }
    const md5 = md5Hex(bytes);
    if (md5 !== expected.md5) {
      throw new DataFileError(file, `md5 is ${md5}, expected ${expected.md5} (file altered or corrupted)`);
    }
  }
  return parseCifar10Records(bytes, file);
}

/** Concatenates raw sets in order. */
export function concatRaw(parts: Cifar10Raw[]): Cifar10Raw {
  const count = parts.reduce((s, p) => s + p.count, 0);
  const images = new Uint8Array(count * CIFAR10_IMAGE_BYTES);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const p of parts) {
    images.set(p.images, n * CIFAR10_IMAGE_BYTES);
    labels.set(p.labels, n);
    n += p.count;
  }
  return { images, labels, count };
}

/** Keeps the first `count` records. */
export function takeFirst(raw: Cifar10Raw, count: number): Cifar10Raw {
  const n = Math.min(count, raw.count);
  return { images: raw.images.slice(0, n * CIFAR10_IMAGE_BYTES), labels: raw.labels.slice(0, n), count: n };
}

/** Description of a dataset directory's files (the official set, or a subset with a manifest.json). */
export interface DatasetManifest {
  name: string;
  description: string;
  train: string[];
  test: string;
  files: Record<string, FileCheck & { records?: number }>;
}

/** Manifest of the official full set. */
export const OFFICIAL_MANIFEST: DatasetManifest = {
  name: 'cifar-10',
  description: 'CIFAR-10, official binary release (50,000 training, 10,000 test images)',
  train: CIFAR10_TRAIN_FILES,
  test: CIFAR10_TEST_FILE,
  files: CIFAR10_OFFICIAL_FILES,
};

/**
 * Reads the manifest of a dataset directory: `manifest.json` when present (embedded subset),
 * otherwise the official release's file list with its md5s.
 * @throws DataFileError naming manifest.json when it is unreadable or incomplete
 */
export function readManifest(dir: string): DatasetManifest {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) return OFFICIAL_MANIFEST;
  let m: DatasetManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as DatasetManifest;
  } catch (e) {
    throw new DataFileError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(m.train) || typeof m.test !== 'string' || typeof m.files !== 'object') {
    throw new DataFileError(file, 'must have "train" (array), "test" (string) and "files" (object)');
  }
  for (const f of [...m.train, m.test]) {
    if (!m.files[f]) throw new DataFileError(file, `no size/md5 entry for "${f}" in "files"`);
  }
  return m;
}

/** A loaded dataset: all training-set images (before the train/validation split) and the test set. */
export interface Cifar10Dataset {
  dir: string;
  manifest: DatasetManifest;
  train: Cifar10Raw;
  test: Cifar10Raw;
}

/**
 * Checks every file of a dataset directory (presence, size, md5, no unexpected layout) without
 * keeping the images: call before any training starts.
 * @throws DataFileError naming the first bad file
 */
export function verifyCifar10Dir(dir: string): DatasetManifest {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new DataFileError(dir, 'directory does not exist');
  }
  const manifest = readManifest(dir);
  const missing = [...manifest.train, manifest.test].filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length > 0) {
    const present = fs.readdirSync(dir).join(', ') || '(empty)';
    throw new DataFileError(path.join(dir, missing[0]),
      `file is missing (expected ${[...manifest.train, manifest.test].join(', ')}; directory has: ${present})`);
  }
  return manifest;
}

/**
 * Loads a CIFAR-10 directory, verifying every file's size and md5 and every label.
 * @param dir directory with data_batch_1..5.bin and test_batch.bin (or a subset with manifest.json)
 * @returns all training images (N = 50,000 for the full set) and test images (10,000), raw uint8 CHW
 * @throws DataFileError naming the file on a missing, truncated or altered file or a bad label
 */
export function loadCifar10(dir: string): Cifar10Dataset {
  const manifest = verifyCifar10Dir(dir);
  const train = concatRaw(manifest.train.map((f) => readCifar10File(path.join(dir, f), manifest.files[f])));
  const test = readCifar10File(path.join(dir, manifest.test), manifest.files[manifest.test]);
  return { dir, manifest, train, test };
}
