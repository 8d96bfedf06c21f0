/**
 * The little a results store needs from a SQL database, implemented by SQLite (sqlite.ts) and
 * PostgreSQL (postgres.ts). Statements use `?` placeholders; PostgreSQL's driver numbers them.
 */
import type { Dialect } from './schema';

/** Runs statements (outside or inside a transaction). */
export interface SqlExecutor {
  /** Rows of a query. */
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Executes a statement; returns the number of rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
}

/** A connection (pool) to one results store. */
export interface SqlDriver extends SqlExecutor {
  readonly dialect: Dialect;
  /** File path or URL without password: what every message names. */
  readonly location: string;
  /** True when a new, empty store was initialised by opening it. */
  readonly created: boolean;
  /**
   * Runs `fn` in one transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: one connection, rows locked
   * with FOR UPDATE where the statements say so). Rolled back when `fn` throws; on PostgreSQL the
   * whole transaction is retried (with backoff) after a lost connection.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Like run, but one attempt only (no retry after a lost connection): lease heartbeats, whose caller retries on its own clock. */
  runOnce(sql: string, params?: unknown[]): Promise<number>;
  /** `FOR UPDATE` on PostgreSQL, '' on SQLite (whose transaction already holds the write lock). */
  readonly forUpdate: string;
  close(): Promise<void>;
}

/** Error about a results store: names the file or host and database (never a password). */
export class StoreError extends Error {
  constructor(location: string, problem: string) {
    super(`${location}: ${problem}`);
    this.name = 'StoreError';
  }
}

/** True for postgres:// and postgresql:// URLs. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * A store location fit for messages: a PostgreSQL URL without its password (user@host:port/db,
 * PGHOST / PGDATABASE filled in when the URL leaves them out); a path unchanged.
 */
export function redactLocation(location: string): string {
  if (!isPostgresUrl(location)) return location;
  try {
    const u = new URL(location);
    const user = decodeURIComponent(u.username) || process.env.PGUSER || '';
    const host = u.hostname || process.env.PGHOST || 'localhost';
    const port = u.port || process.env.PGPORT || '5432';
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || process.env.PGDATABASE || user;
    return `postgres://${user ? `${user}@` : ''}${host}:${port}/${db}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
