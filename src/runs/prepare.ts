import { execFileSync } from 'node:child_process';
import { loadCifar10, takeFirst, type Cifar10Dataset } from '../data/cifar10';
import { splitTrainValidation, selectRecords } from '../data/split';
import { PROJECT_ROOT } from '../data/locate';
import { ConfigError, trainImagesUsed, type DataSpec } from '../train/config';
import type { RunData } from '../train/loop';

const datasets = new Map<string, Cifar10Dataset>();
const prepared = new Map<string, RunData>();

/** Loads (once per process) and verifies a dataset directory. */
export function loadDatasetCached(dir: string): Cifar10Dataset {
  let ds = datasets.get(dir);
  if (!ds) {
    ds = loadCifar10(dir);
    datasets.set(dir, ds);
  }
  return ds;
}

/**
 * The train/validation/test images of a run: the seeded split of the training files, the first
 * `trainFraction` of the remaining training images (in file order), the first `testCount` test images.
 * Nothing is clamped: the counts are checked against the data (expandProtocol checks them before
 * anything is planned; this is the last line for configurations from elsewhere, e.g. a stored run).
 * @throws Error when the directory's dataset is not the one the configuration names
 * @throws ConfigError when testCount exceeds the test images or trainFraction leaves fewer than 2 training images (both numbers named)
 * @throws RangeError when validationCount is not less than the training-file images (splitTrainValidation)
 */
export function prepareRunData(dir: string, spec: DataSpec): RunData {
  const key = `${dir}|${JSON.stringify(spec)}`;
  const hit = prepared.get(key);
  if (hit) return hit;
  const ds = loadDatasetCached(dir);
  if (ds.manifest.name !== spec.dataset) {
    throw new Error(`${dir}: holds dataset "${ds.manifest.name}", but the run was configured for "${spec.dataset}"`);
  }
  if (spec.testCount !== null && spec.testCount > ds.test.count) {
    throw new ConfigError(`${dir}: testCount ${spec.testCount} is larger than the ${ds.test.count} test images of dataset ${spec.dataset}`);
  }
  const { train, validation } = splitTrainValidation(ds.train, spec.validationCount, spec.splitSeed);
  const keep = trainImagesUsed(ds.train.count, spec.validationCount, spec.trainFraction);
  if (keep < 2) {
    throw new ConfigError(`${dir}: trainFraction ${spec.trainFraction} leaves ${keep} of the ${train.count} training images; at least 2 are needed`);
  }
  const trainUsed = keep < train.count ? selectRecords(train, Array.from({ length: keep }, (_, i) => i)) : train;
  const test = spec.testCount !== null ? takeFirst(ds.test, spec.testCount) : ds.test;
  const data = { train: trainUsed, validation, test };
  prepared.set(key, data);
  return data;
}

/** The git commit of the workspace (with "-dirty" when it has uncommitted changes), or null outside git. */
export function codeVersion(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return null;
  }
}
