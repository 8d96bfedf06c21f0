/**
 * copy-store: copies every run (row, epochs, checkpoint) and the planned runs from one results
 * store to another, SQLite or PostgreSQL either way, idempotently (see ResultsStore.importRun).
 */
import { openResultsStore } from './store';

export interface CopyResult {
  from: string;
  to: string;
  copied: number;
  unchanged: number;
  planned: number;
}

/**
 * Copies a results store into another (created if needed).
 * @param from source (opened read-only)
 * @param to destination
 * @param log one line per 10 runs copied
 * @throws StoreError naming whichever store cannot be opened
 */
export async function copyStore(from: string, to: string, log: (line: string) => void = () => undefined): Promise<CopyResult> {
  const source = await openResultsStore(from, { readonly: true });
  try {
    const target = await openResultsStore(to, { log });
    try {
      const planned = await source.listPlanned();
      await target.planRuns(planned);
      const runs = await source.listRuns();
      let copied = 0;
      let unchanged = 0;
      for (const [i, r] of runs.entries()) {
        const bundle = await source.exportRun(r.runId);
        if (bundle && (await target.importRun(bundle))) copied++;
        else unchanged++;
        if ((i + 1) % 10 === 0) log(`copied ${i + 1}/${runs.length} runs`);
      }
      return { from: source.location, to: target.location, copied, unchanged, planned: planned.length };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
