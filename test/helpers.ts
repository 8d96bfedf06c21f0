import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
