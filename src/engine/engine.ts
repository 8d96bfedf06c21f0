/**
 * Engine selection: one tfjs engine per process. Order: @tensorflow/tfjs-node-gpu (CUDA), then
 * @tensorflow/tfjs-node (native TensorFlow on CPU), when installed AND really the native binding,
 * then 'onednn' (the wasm backend with oneDNN convolutions from the optional addon, src/engine/onednn.ts),
 * else @tensorflow/tfjs-backend-wasm with the workspace's fast gradient kernels (src/engine/wasm).
 * The pure-JS 'cpu' backend is available only on request (tests): it needs minutes per batch.
 *
 * danfojs-node depends on @tensorflow/tfjs-node, which package.json `overrides` maps to plain
 * @tensorflow/tfjs; npm may hoist that alias to node_modules/@tensorflow/tfjs-node, so a package
 * found under that name is used only when its package.json names itself @tensorflow/tfjs-node and
 * its native binding loads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadOneDnn, oneDnnInfo, registerOneDnnKernels } from './onednn';

/** Backend requested by the user: 'auto' picks the first that loads. */
export type BackendChoice = 'auto' | 'tfjs-node-gpu' | 'tfjs-node' | 'onednn' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'onednn', 'wasm', 'cpu'];

/** The engine a process trains with, recorded with every run. */
export interface EngineInfo {
  /** What was used: 'tfjs-node-gpu', 'tfjs-node', 'onednn' (wasm + oneDNN convolutions), 'wasm' or 'cpu'. */
  backend: Exclude<BackendChoice, 'auto'>;
  /** tfjs backend name (tf.getBackend()): 'tensorflow', 'wasm', 'cpu'. */
  tfBackend: string;
  /** Versions of the tfjs packages in use. */
  versions: Record<string, string>;
  /** Kernels the workspace registered (wasm; ':onednn' marks the oneDNN ones). */
  kernels: string[];
  /** Why earlier choices were skipped (auto). */
  skipped: string[];
}

function packageJson(name: string): { name: string; version: string; dir: string } | null {
  try {
    const file = require.resolve(`${name}/package.json`);
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name: string; version: string };
    return { name: pkg.name, version: pkg.version, dir: path.dirname(file) };
  } catch {
    return null;
  }
}

/**
 * Tries to load a native tfjs-node package.
 * @returns null when loaded, else the reason it cannot be used
 */
function tryNative(name: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): string | null {
  const pkg = packageJson(name);
  if (!pkg) return `${name} is not installed`;
  if (pkg.name !== name) return `${name} resolves to ${pkg.name}@${pkg.version} (the danfojs-node alias), not the native binding`;
  try {
    require(name);
  } catch (e) {
    return `${name} did not load: ${(e as Error).message.split('\n')[0]}`;
  }
  return null;
}

let selected: EngineInfo | null = null;

/**
 * Selects and initialises the tfjs backend for this process (idempotent: a second call with a
 * compatible choice returns the first result).
 * @param options.backend 'auto' (default) or a forced backend
 * @returns the engine used
 * @throws Error when a forced backend cannot be loaded, or a different backend was already selected
 */
export async function selectEngine(options: { backend?: BackendChoice } = {}): Promise<EngineInfo> {
  const choice = options.backend ?? 'auto';
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new Error(`unknown backend "${String(choice)}"; expected one of ${BACKEND_CHOICES.join(', ')}`);
  }
  if (selected) {
    if (choice === 'auto' || choice === selected.backend) return selected;
    throw new Error(`backend ${selected.backend} is already selected in this process; cannot switch to ${choice}`);
  }
  const skipped: string[] = [];
  const versions: Record<string, string> = { '@tensorflow/tfjs': tf.version.tfjs, '@tensorflow/tfjs-core': tf.version_core };
  const finish = async (backend: EngineInfo['backend'], tfBackend: string, kernels: string[] = []) => {
    const ok = await tf.setBackend(tfBackend);
    if (!ok) throw new Error(`backend ${backend}: tf.setBackend('${tfBackend}') failed`);
    await tf.ready();
    selected = { backend, tfBackend, versions, kernels, skipped };
    return selected;
  };
  for (const [name, label] of [['@tensorflow/tfjs-node-gpu', 'tfjs-node-gpu'], ['@tensorflow/tfjs-node', 'tfjs-node']] as const) {
    if (choice !== 'auto' && choice !== label) continue;
    const reason = tryNative(name);
    if (reason === null) {
      versions[name] = packageJson(name)!.version;
      return finish(label, 'tensorflow');
    }
    if (choice === label) throw new Error(`backend ${label} cannot be used: ${reason}`);
    skipped.push(reason);
  }
  if (choice === 'cpu') return finish('cpu', 'cpu');
  // wasm
  require('@tensorflow/tfjs-backend-wasm');
  versions['@tensorflow/tfjs-backend-wasm'] = packageJson('@tensorflow/tfjs-backend-wasm')?.version ?? 'unknown';
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('backend wasm: tf.setBackend("wasm") failed (is @tensorflow/tfjs-backend-wasm installed?)');
  await tf.ready();
  const kernels = registerWorkspaceWasmKernels();
  if (choice === 'onednn' || choice === 'auto') {
    const reason = loadOneDnn();
    if (reason === null) {
      const native = registerOneDnnKernels();
      const info = oneDnnInfo()!;
      versions.onednn = `${info.version} (${info.isa})`;
      return finish('onednn', 'wasm', [...kernels.filter((k) => !native.includes(`${k}:onednn`)), ...native]);
    }
    if (choice === 'onednn') throw new Error(`backend onednn cannot be used: ${reason}`);
    // built but broken (e.g. libdnnl.so gone): say so, a silent 4x slowdown would puzzle
    if (/did not load/.test(reason)) console.error(`warning: ${reason}; training with the wasm kernels`);
    skipped.push(reason);
  }
  const wasm = require('./wasm') as typeof import('./wasm');
  versions.convolutions = wasm.convolutionRoute();
  return finish('wasm', 'wasm', kernels);
}

/** Registers the workspace's wasm kernels (src/engine/wasm) if that module is present. */
function registerWorkspaceWasmKernels(): string[] {
  let mod: { registerWasmKernels?: () => string[] };
  try {
    mod = require('./wasm') as typeof mod;
  } catch {
    return [];
  }
  return mod.registerWasmKernels ? mod.registerWasmKernels() : [];
}

/**
 * What a backend choice resolves to here, for progress lines, without selecting it (the tfjs-node
 * packages are only looked up, not loaded): e.g. 'auto -> onednn 2.6.3 (avx512_core)'.
 * @throws Error when WS_CONV_ROUTE or WS_WINOGRAD_M holds a bad value (named)
 */
export function describeEngine(choice: BackendChoice): string {
  const wasm = require('./wasm') as typeof import('./wasm');
  const route = wasm.convolutionRoute();
  const onednn = () => (loadOneDnn() === null ? `onednn ${oneDnnInfo()!.version} (${oneDnnInfo()!.isa})` : null);
  if (choice === 'onednn') return onednn() ?? 'onednn (not available)';
  if (choice === 'wasm') return `wasm (${route})`;
  if (choice !== 'auto') return choice;
  const native = (['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const).find((n) => packageJson(n)?.name === n);
  const fallback = onednn() ?? `wasm (${route})`;
  return native ? `auto -> ${native.replace('@tensorflow/', '')} if its binding loads, else ${fallback}` : `auto -> ${fallback}`;
}

/** Whether a backend (choice, engine or tfjs name) can run the data-parallel trainer: wasm, onednn, or auto (see threadsProblem). */
export function runsThreads(backend: string): boolean {
  return backend === 'wasm' || backend === 'onednn' || backend === 'auto';
}

/**
 * The rule of the data-parallel trainer (threads > 1): only backends whose kernels synchronise batch
 * norm across threads can run it: wasm and onednn (tfjs's own backend name is 'wasm' for both), and
 * 'auto' (which falls back to 1 thread where it picks another engine).
 * @param backend a BackendChoice, an engine's backend or tfjs's backend name
 * @returns why `threads` cannot train on `backend` (a sentence starting "threads N"), or null
 */
export function threadsProblem(threads: number, backend: string): string | null {
  if (threads <= 1 || runsThreads(backend)) return null;
  return `threads ${threads} needs the wasm or onednn backend (their kernels synchronise batch norm across threads), not ${backend}`;
}

/** The engine selected in this process, or null. */
export function currentEngine(): EngineInfo | null {
  return selected;
}
