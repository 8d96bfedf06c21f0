/**
 * Loading saved runs for analysis, with the pooling rule: runs of one arm are pooled only when
 * their configurations differ in nothing but the seed (same config hash), unless asked otherwise.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROTOCOLS } from '../runs/protocols';
import { isPostgresUrl, openResultsStore, redactLocation } from '../store';
import type { EpochRecord, RunRecord } from '../store/types';
import { OUTSIDE_HASH } from '../train/config';
import { engineLabel, type StoredRun } from '../store/api';

export interface LoadedResults {
  runs: (RunRecord & { configHash?: string })[];
  epochs: EpochRecord[];
  /** Warnings about what was excluded. */
  notes: string[];
  /** Every protocol of the store (with runs or planned runs), whatever `protocol` selected. */
  protocols: string[];
}

/** Flattens a configuration to dotted keys -> JSON values. */
function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = JSON.stringify(value);
  }
  return out;
}

/**
 * Fields (dotted paths) in which two run configurations differ, ignoring the seed.
 * @returns e.g. ['maxEpochs: 3 vs 1', 'data.trainFraction: 0.5 vs 0.05']
 */
export function configDifferences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const fa = flatten(a);
  const fb = flatten(b);
  return [...new Set([...Object.keys(fa), ...Object.keys(fb)])].filter((k) => !OUTSIDE_HASH.includes(k) && fa[k] !== fb[k])
    .map((k) => `${k}: ${fa[k] ?? 'absent'} vs ${fb[k] ?? 'absent'}`);
}

/**
 * One note per protocol whose runs were trained on more than one engine (engineLabel, including a
 * run resumed on another engine): the runs are pooled, but seconds to target then compare engine
 * speeds as well as schedules, and runs round differently.
 */
export function engineNotes(runs: StoredRun[]): string[] {
  const byProtocol = new Map<string, Map<string, number>>();
  for (const r of runs) {
    const earlier = r.versions?.earlierEngines;
    const label = engineLabel(r.backend, r.versions) + (earlier ? ` after ${earlier}` : '');
    const m = byProtocol.get(r.protocol) ?? new Map<string, number>();
    m.set(label, (m.get(label) ?? 0) + 1);
    byProtocol.set(r.protocol, m);
  }
  return [...byProtocol].filter(([, m]) => m.size > 1).map(([p, m]) => `${p}: runs trained on ${m.size} engines (`
    + `${[...m].map(([l, n]) => `${l}: ${n} run${n === 1 ? '' : 's'}`).join('; ')}); seconds to target compare engine speeds as well as schedules`);
}

/**
 * Arms of one protocol differ only in their schedule: runs of one protocol name whose arms differ in
 * anything else (training fraction, validation size, dataset, epochs, target, batch size, ...) come
 * from two definitions saved under one name and must not be compared. Arms that pool several
 * configurations (--allow-mixed-configs) are compared when they share none.
 * @returns one message per protocol naming two arms and the fields in which they differ
 */
export function definitionDifferences(runs: RunRecord[]): string[] {
  const definition = (c: Record<string, unknown>) => {
    const { arm: _a, schedule: _s, ...rest } = c;
    return JSON.stringify(flatten(Object.fromEntries(Object.entries(rest).filter(([k]) => !OUTSIDE_HASH.includes(k)))));
  };
  const arms = new Map<string, Map<string, Map<string, RunRecord>>>(); // protocol -> arm -> definition -> a run
  for (const r of runs) {
    const byArm = arms.get(r.protocol) ?? new Map<string, Map<string, RunRecord>>();
    const defs = byArm.get(r.arm) ?? new Map<string, RunRecord>();
    if (!defs.has(definition(r.config))) defs.set(definition(r.config), r);
    byArm.set(r.arm, defs);
    arms.set(r.protocol, byArm);
  }
  const out: string[] = [];
  for (const [protocol, byArm] of arms) {
    const [first, ...others] = [...byArm];
    const other = others.find(([, defs]) => ![...defs.keys()].some((d) => first[1].has(d)));
    if (!other) continue;
    const [a, b] = [[...first[1].values()][0], [...other[1].values()][0]];
    const diff = configDifferences(a.config, b.config).filter((d) => !/^(arm|schedule)[.:]/.test(d));
    out.push(`protocol ${protocol}: arms ${a.arm} and ${b.arm} differ beyond their schedules (${diff.slice(0, 4).join('; ')}), ` +
      'so the store holds runs of two definitions under one name');
  }
  return out;
}

/** Pooling error: names the arm and the differing configurations. */
export class PoolingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoolingError';
  }
}

/**
 * Reads runs (and their epochs) of a protocol from a results store, read-only (nothing is created,
 * migrated or left beside the file; a store in a read-only folder works): the one front door of
 * every view (the CLI's analyze, the report, the charts, the notebooks; loadReportResults checks first).
 * @param file results store: SQLite file path or postgres:// URL
 * @param options.protocol protocol name (all when omitted)
 * @param options.allowMixedConfigs pool runs of an arm even when their configurations differ beyond the seed
 * @throws StoreError when the file does not exist / is not a store; PoolingError when an arm mixes
 *   configurations (unless allowMixedConfigs) or when the arms of a protocol differ beyond their schedules (always)
 */
export async function loadResults(file: string, options: { protocol?: string; allowMixedConfigs?: boolean } = {}): Promise<LoadedResults> {
  const store = await openResultsStore(file, { readonly: true });
  try {
    const runs = (await store.listRuns(options.protocol ? { protocol: options.protocol } : {})) as (RunRecord & { configHash?: string })[];
    const notes: string[] = [];
    const byArm = new Map<string, Set<string>>();
    for (const r of runs) {
      const key = `${r.protocol}/${r.arm}`;
      if (!byArm.has(key)) byArm.set(key, new Set());
      byArm.get(key)!.add(r.configHash ?? '');
    }
    for (const [arm, hashes] of byArm) {
      if (hashes.size > 1) {
        const [h1, h2] = [...hashes];
        const armRuns = runs.filter((r) => `${r.protocol}/${r.arm}` === arm);
        const c1 = armRuns.find((r) => (r.configHash ?? '') === h1)!.config;
        const c2 = armRuns.find((r) => (r.configHash ?? '') === h2)!.config;
        const diff = configDifferences(c1, c2).slice(0, 4).join('; ');
        const msg = `${arm}: runs with ${hashes.size} different configurations (hashes ${[...hashes].join(', ')}; ${diff})`;
        if (!options.allowMixedConfigs) {
          throw new PoolingError(`${store.location}: refusing to pool ${msg}; analyse one configuration (delete or move the others) or pass --allow-mixed-configs`);
        }
        notes.push(`pooled ${msg}`);
      }
    }
    const definitions = definitionDifferences(runs);
    if (definitions.length) {
      throw new PoolingError(`${store.location}: refusing to compare ${definitions[0]}; give one of them another name (the protocol file's "name") and train it again, or copy each definition's runs into a store of its own`);
    }
    notes.push(...engineNotes(runs as StoredRun[]));
    const epochs = await store.listEpochs(runs.map((r) => r.runId));
    return { runs, epochs, notes, protocols: await store.listProtocols() };
  } finally {
    await store.close();
  }
}

/**
 * loadResults for a report or a notebook, checking the file and the protocol: the store must exist
 * (a SQLite file) and a protocol must be a known one or one of the store's.
 * @returns the loaded results and the store's location fit for messages (no password)
 * @throws Error naming the file when it does not exist or is not a file, or naming the protocol when
 *   it is neither a known protocol nor in the store; as loadResults otherwise
 */
export async function loadReportResults(results: string, protocol?: string, allowMixedConfigs?: boolean): Promise<LoadedResults & { file: string }> {
  const url = isPostgresUrl(results);
  const file = url ? results : path.resolve(results);
  if (!url && !fs.existsSync(file)) throw new Error(`results store ${file} does not exist (train first, e.g. npm start, or pass --results FILE)`);
  if (!url && !fs.statSync(file).isFile()) throw new Error(`results store ${file} is not a file`);
  if (protocol !== undefined && !protocol.trim()) throw new Error('protocol must not be empty');
  const loaded = await loadResults(file, { protocol, allowMixedConfigs });
  if (protocol !== undefined && !PROTOCOLS[protocol] && !loaded.protocols.includes(protocol)) {
    throw new Error(`unknown protocol "${protocol}": not a known protocol (${Object.keys(PROTOCOLS).join(', ')}) and not in ${redactLocation(file)} (${loaded.protocols.join(', ') || 'no runs'})`);
  }
  return { ...loaded, file: redactLocation(file) };
}
