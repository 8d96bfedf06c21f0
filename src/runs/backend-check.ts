import * as fs from 'node:fs';
import { ConfigError } from '../train/config';
import { describeEngine, type BackendChoice } from '../engine/engine';
import { loadOneDnn } from '../engine/onednn';

/**
 * A forced native backend must at least be installed as itself (not the danfojs-node alias) before
 * anything is written; whether its binding loads is found out by the process that trains. A forced
 * onednn needs its addon built and loading (checked here: it is cheap).
 * @throws ConfigError naming the backend and what is installed instead
 */
export function checkBackendInstalled(backend: BackendChoice): void {
  try {
    describeEngine(backend); // a bad WS_CONV_ROUTE / WS_WINOGRAD_M fails here, before anything is written
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  if (backend === 'onednn') {
    const why = loadOneDnn();
    if (why !== null) throw new ConfigError(`backend onednn cannot be used: ${why}; use --backend wasm or auto`);
    return;
  }
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
