/**
 * Where the results store is: `--results` (a SQLite file path or a postgres:// URL), else the
 * RESULTS_URL environment variable, else data/results.sqlite. A leaf module: views import it without
 * pulling in the runner.
 */
import * as path from 'node:path';
import { PROJECT_ROOT } from '../data/locate';
import { checkLocationShape, isPostgresUrl } from './sql/driver';

/** The default SQLite results store. */
export const DEFAULT_RESULTS_PATH = path.join(PROJECT_ROOT, 'data', 'results.sqlite');

/**
 * The study shipped with the workspace: the finished race-to-85 and full-182 runs trained on the full
 * CIFAR-10 by scripts/study/train.sh, without checkpoints (copy-store --no-checkpoints), read-only.
 */
export const STUDY_RESULTS_PATH = path.join(PROJECT_ROOT, 'studies', 'resnet20-cifar10.sqlite');

/**
 * The results store to use: a URL unchanged, a file path made absolute.
 * @param given --results, if any
 * @throws StoreError for a mistyped URL (checkLocationShape): never taken as a file path
 */
export function resolveResultsLocation(given?: string): string {
  const location = given ?? process.env.RESULTS_URL ?? DEFAULT_RESULTS_PATH;
  checkLocationShape(location);
  return isPostgresUrl(location) ? location : path.resolve(location);
}
