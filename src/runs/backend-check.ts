import * as fs from 'node:fs';
import { ConfigError } from '../train/config';
import type { BackendChoice } from '../engine/engine';

/**
 * A forced native backend must at least be installed as itself (not the danfojs-node alias) before
 * anything is written; whether its binding loads is found out by the process that trains.
 * @throws ConfigError naming the backend and what is installed instead
 */
export function checkBackendInstalled(backend: BackendChoice): void {
  if (backend !== 'tfjs-node' && backend !== 'tfjs-node-gpu') return;
  const name = `@tensorflow/${backend}`;
  let found: string | null = null;
  try {
    found = (JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { name: string }).name;
  } catch {
    // not installed
  }
  if (found !== name) throw new ConfigError(`backend ${backend} cannot be used: ${name} is ${found ? `${found} (the danfojs-node alias), not the native binding` : 'not installed'}; use --backend wasm or auto`);
}
