import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';

/** Project root from dist-test/test. */
export const ROOT = path.resolve(__dirname, '..', '..');
/** The full official CIFAR-10 set beside the project (CI and development machines). */
export const SHARED_CIFAR = process.env.CIFAR10_DIR ?? path.resolve(ROOT, '..', 'shared', 'data', 'cifar-10-batches-bin');
export const EMBEDDED = path.join(ROOT, 'data', 'cifar-10-subset');

export function tmpDir(prefix = 'ws-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The backend `--backend auto` gives on this machine without a GPU: oneDNN's convolutions when the optional addon is built, else wasm. */
export function autoBackend(): 'onednn' | 'wasm' {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (require('../src/engine/onednn') as typeof import('../src/engine/onednn')).loadOneDnn() === null ? 'onednn' : 'wasm';
}

/** Largest absolute difference relative to the largest |reference| value (the kernel tests' error measure). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / Math.max(s, 1e-30);
}

/** Deterministic uniform(-1, 1) float32 values from a linear congruential generator. */
export function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}
