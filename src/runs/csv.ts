import * as fs from 'node:fs';
import * as path from 'node:path';
import { openResultsStore } from './store';

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Writes rows as CSV atomically: temp file in the same folder, fsynced, renamed over `file`; a killed
 * process never leaves a partial file under the final name, and a failed write removes its temp file.
 */
export function writeCsvAtomic(file: string, rows: Record<string, unknown>[]): void {
  const cols = rows.length ? Object.keys(rows[0]) : [];
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
 * `epochs.csv` (one row per epoch) in outDir, each written atomically.
 * @returns the written paths
 */
export function exportCsv(resultsFile: string, outDir: string): string[] {
  const store = openResultsStore(resultsFile, { readonly: true });
  try {
    fs.mkdirSync(outDir, { recursive: true });
    const runs = store.listRuns().map(({ config, ...r }) => ({ ...r, config: JSON.stringify(config) }));
    const epochs = store.listEpochs();
    const files = [path.join(outDir, 'runs.csv'), path.join(outDir, 'epochs.csv')];
    writeCsvAtomic(files[0], runs as unknown as Record<string, unknown>[]);
    writeCsvAtomic(files[1], epochs as unknown as Record<string, unknown>[]);
    return files;
  } finally {
    store.close();
  }
}
