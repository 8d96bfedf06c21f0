import * as fs from 'node:fs';
import * as path from 'node:path';
import { openResultsStore } from './open';

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Writes rows as CSV atomically: temp file in the same folder, fsynced, renamed over `file`; a killed
 * process never leaves a partial file under the final name, and a failed write removes its temp file.
 * @param columns header (default: the first row's keys); kept when there are no rows
 */
export function writeCsvAtomic(file: string, rows: Record<string, unknown>[], columns?: string[]): void {
  const cols = columns ?? (rows.length ? Object.keys(rows[0]) : []);
  const text = [cols.join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Exports the results store to `runs.csv` (one row per run, configuration as JSON) and
 * `epochs.csv` (one row per epoch) in outDir, each written atomically; an empty store gives files
 * with their header row only.
 * @param results SQLite file or postgres:// URL (opened read-only)
 * @returns the written paths
 * @throws Error naming outDir when it is a file
 */
export async function exportCsv(results: string, outDir: string): Promise<string[]> {
  const store = await openResultsStore(results, { readonly: true });
  try {
    if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) throw new Error(`cannot write into ${outDir}: it is a file, not a folder`);
    fs.mkdirSync(outDir, { recursive: true });
    const runs = (await store.listRuns()).map((r) => ({
      runId: r.runId, protocol: r.protocol, arm: r.arm, seed: r.seed, backend: r.backend, status: r.status, target: r.target,
      epochsToTarget: r.epochsToTarget, iterationsToTarget: r.iterationsToTarget, secondsToTarget: r.secondsToTarget,
      epochsCompleted: r.epochsCompleted, finalTestAccuracy: r.finalTestAccuracy, bestValidationAccuracy: r.bestValidationAccuracy,
      testAccuracyAtBestValidation: r.testAccuracyAtBestValidation, error: r.error, startedAt: r.startedAt, finishedAt: r.finishedAt,
      configHash: r.configHash, versions: JSON.stringify(r.versions), codeVersion: r.codeVersion, attempts: r.attempts,
      config: JSON.stringify(r.config),
    }));
    const epochs = await store.listEpochs();
    const files = [path.join(outDir, 'runs.csv'), path.join(outDir, 'epochs.csv')];
    writeCsvAtomic(files[0], runs, RUN_COLUMNS);
    writeCsvAtomic(files[1], epochs as unknown as Record<string, unknown>[], EPOCH_COLUMNS);
    return files;
  } finally {
    await store.close();
  }
}

const RUN_COLUMNS = ['runId', 'protocol', 'arm', 'seed', 'backend', 'status', 'target', 'epochsToTarget', 'iterationsToTarget', 'secondsToTarget',
  'epochsCompleted', 'finalTestAccuracy', 'bestValidationAccuracy', 'testAccuracyAtBestValidation', 'error', 'startedAt', 'finishedAt',
  'configHash', 'versions', 'codeVersion', 'attempts', 'config'];
const EPOCH_COLUMNS = ['runId', 'epoch', 'iteration', 'learningRate', 'trainLoss', 'trainAccuracy', 'validationLoss', 'validationAccuracy',
  'testLoss', 'testAccuracy', 'trainSeconds', 'totalSeconds', 'trainCpuSeconds', 'totalCpuSeconds'];
