/**
 * Opening a results store: one interface (api.ts), two databases behind it (a SQLite file, the
 * default; a PostgreSQL URL, for many hosts) with the same schema (sql/schema.ts). One row per run,
 * one per finished epoch, the latest checkpoint of each run, and the planned runs of each protocol.
 *
 * Coordination (after Optuna's RDB storage): a worker claims a run atomically and holds a lease on
 * it (owner = host:pid:random id, a fencing token incremented by every claim, an expiry on the
 * database's clock) which it renews by heartbeat. A run whose lease expired (or, on the same host,
 * whose process is gone) is taken over and resumes from its checkpoint. Every epoch write, the
 * finish and the release succeed only under the current token: a worker that lost its lease never
 * writes over the worker that took the run over.
 */
import type { ResultsStore } from './api';
import { checkLocationShape, isPostgresUrl } from './sql/driver';
import { openPostgres } from './sql/postgres';
import { openSqlite, probeSqlite } from './sql/sqlite';
import { sqlStore } from './sql/store';

/**
 * Opens a results store: a postgres:// or postgresql:// URL, else a SQLite file path.
 * @param options.readonly read commands: never creates, migrates or writes anything
 * @param options.log where PostgreSQL outage lines go (default console.error)
 * @throws StoreError naming the file or host/database (never a password); a mistyped URL scheme
 */
export async function openResultsStore(location: string, options: { readonly?: boolean; log?: (line: string) => void } = {}): Promise<ResultsStore> {
  checkLocationShape(location);
  const driver = isPostgresUrl(location) ? await openPostgres(location, options) : openSqlite(location, options);
  return sqlStore(driver);
}

/**
 * Checks a store before the data is read, so that a bad --results is the first error: a SQLite file
 * is probed without creating anything; a PostgreSQL store is opened (creating its schema) and returned.
 * @returns the opened store (PostgreSQL) or null (SQLite: open it when training starts)
 * @throws StoreError as openResultsStore
 */
export async function checkResultsStore(location: string, options: { log?: (line: string) => void } = {}): Promise<ResultsStore | null> {
  if (isPostgresUrl(location)) return openResultsStore(location, options);
  probeSqlite(location);
  return null;
}
