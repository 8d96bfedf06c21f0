import * as fs from 'node:fs';
import * as path from 'node:path';

/** Project root: the nearest folder above this file holding package.json (works from src/, dist/ and dist-test/). */
export const PROJECT_ROOT = findProjectRoot(__dirname);

function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(start, '..', '..');
  }
}
/** Where `npm run data:cifar10` extracts the official set. */
export const DOWNLOADED_DATA_DIR = path.join(PROJECT_ROOT, 'data', 'cifar-10-batches-bin');
/** The embedded real subset committed to the repository. */
export const EMBEDDED_DATA_DIR = path.join(PROJECT_ROOT, 'data', 'cifar-10-subset');

/** Where the data directory came from. */
export type DataSource = 'flag' | 'env' | 'downloaded' | 'embedded';

/**
 * Finds the CIFAR-10 directory: `--data DIR`, else the CIFAR10_DIR environment variable, else
 * data/cifar-10-batches-bin (where `npm run data:cifar10` extracts), else the embedded subset.
 * @param flag value of --data, if given
 * @param env environment (default process.env)
 * @returns absolute directory, where it came from, and a one-line description to print
 * @throws Error when --data or CIFAR10_DIR names a directory that does not exist
 */
export function locateCifar10(flag?: string, env: NodeJS.ProcessEnv = process.env): { dir: string; source: DataSource; description: string } {
  const check = (dir: string, what: string) => {
    if (!fs.existsSync(dir)) throw new Error(`${what} ${dir}: directory does not exist`);
    if (!fs.statSync(dir).isDirectory()) throw new Error(`${what} ${dir}: is a file, not a directory (give the folder holding data_batch_1.bin ... test_batch.bin)`);
    return path.resolve(dir);
  };
  if (flag) {
    const dir = check(flag, '--data');
    return { dir, source: 'flag', description: `CIFAR-10 from --data ${dir}` };
  }
  if (env.CIFAR10_DIR) {
    const dir = check(env.CIFAR10_DIR, 'CIFAR10_DIR=');
    return { dir, source: 'env', description: `CIFAR-10 from CIFAR10_DIR=${dir}` };
  }
  if (fs.existsSync(path.join(DOWNLOADED_DATA_DIR, 'test_batch.bin'))) {
    return { dir: DOWNLOADED_DATA_DIR, source: 'downloaded', description: `CIFAR-10 downloaded at ${DOWNLOADED_DATA_DIR}` };
  }
  return { dir: EMBEDDED_DATA_DIR, source: 'embedded', description: `embedded CIFAR-10 subset at ${EMBEDDED_DATA_DIR} (real images, first records of data_batch_1 and test_batch)` };
}
