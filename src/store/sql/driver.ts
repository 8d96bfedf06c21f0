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
 * Refuses a results store location that is neither a PostgreSQL URL nor a plausible file path, so
 * that a mistyped URL never becomes a SQLite file (and a folder named after it, password included):
 * another or misspelled scheme (`postgress://`, `postgresql+psycopg2://`, `postgres:/host`) or a
 * `USER:PASSWORD@HOST` without a scheme. The message names the scheme, never the value.
 * @throws StoreError
 */
export function checkLocationShape(location: string): void {
  if (isPostgresUrl(location)) return;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]+):(\/*)/.exec(location);
  if (scheme && (scheme[2] || /^postgres/i.test(scheme[1]))) {
    throw new StoreError('results store', `"${scheme[1]}:${scheme[2]}" is not a results store URL scheme (the value is not shown: it may hold a password); ` +
      'use postgres://USER@HOST:PORT/DB or postgresql://..., or a SQLite file path');
  }
  if (/(^|\/)[^/:@\s]+:[^/@\s]*@[^/\s]/.test(location)) {
    throw new StoreError('results store', 'looks like USER:PASSWORD@HOST without a scheme (the value is not shown); use postgres://USER@HOST:PORT/DB with the password in PGPASSWORD or ~/.pgpass');
  }
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
