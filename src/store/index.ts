/**
 * The results store (src/store): its interface (api.ts, types.ts), opening one (open.ts: SQLite or
 * PostgreSQL behind sql/), where it is (location.ts), and the tools over it: copy-store (copy.ts),
 * CSV export (csv.ts), status (status.ts). It imports from data/ and train/ only; runs/ and
 * analysis/ use it.
 */
export * from './types';
export * from './api';
export * from './open';
export * from './location';
export * from './copy';
export * from './csv';
export * from './status';
export { SCHEMA_VERSION } from './sql/schema';
export { StoreError, isPostgresUrl, redactLocation } from './sql/driver';
