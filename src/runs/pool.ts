/**
 * Where runs execute: a slot trains one run at a time, either in a worker process of its own
 * (forked on demand, replaced when it dies) or in this process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { RunConfig } from '../train/config';
import { runId } from '../train/config';
import { executeRun, type ExecuteOptions, type RunResult } from './execute';
import type { EpochProgress } from './progress';
import { workerIdentity, type ResultsStore } from '../store';
import type { EpochRecord } from '../store/types';

/** What became of a run handed to a slot; `reason` says why it was skipped or failed. */
export interface SlotOutcome {
  result: RunResult | 'failed';
  reason?: string;
}

export interface RunSlot {
  run(config: RunConfig): Promise<SlotOutcome>;
  /** Asks the current run to stop and release itself (SIGINT/SIGTERM of this process). */
  stop(reason: string): void;
  close(): Promise<void>;
}

export interface SlotOptions {
  /** Options of executeRun that travel to a worker process (plain data). */
  execute: Omit<ExecuteOptions, 'worker' | 'onEpoch' | 'onProgress' | 'onSkip' | 'shouldStop' | 'log'>;
  results: string;
  store: ResultsStore;
  onEpoch(record: EpochRecord, config: RunConfig): void;
  onProgress(id: string, config: RunConfig, p: EpochProgress): void;
  log(line: string): void;
}

/** A slot training in this process (--workers 0, notebooks). */
export function inProcessSlot(o: SlotOptions): RunSlot {
  const worker = workerIdentity();
  let stopReason: string | null = null;
  return {
    async run(config) {
      const id = runId(config);
      let reason: string | undefined;
      try {
        const result = await executeRun(config, {
          ...o.execute, worker, log: o.log, shouldStop: () => stopReason, onSkip: (r) => { reason = r; },
          onEpoch: o.onEpoch, onProgress: (p) => o.onProgress(id, config, p),
        }, o.store);
        return { result, reason };
      } catch (e) {
        return { result: 'failed', reason: (e as Error).message };
      }
    },
    stop(reason) {
      stopReason = reason;
    },
    close: async () => undefined,
  };
}

/** A slot training in a worker process (src/runs/worker.ts); a worker that dies fails its run (if it still holds it) and is replaced. */
export function processSlot(o: SlotOptions): RunSlot {
  let child: ChildProcess | null = null;
  let owner: string | null = null;
  let ready: Promise<void> | null = null;
  let settle: ((outcome: SlotOutcome) => void) | null = null;
  let current: RunConfig | null = null;
  let readyResolve: (() => void) | null = null;
  const start = () => {
    const c = fork(path.join(__dirname, 'worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child = c;
    ready = new Promise((resolve) => {
      readyResolve = resolve;
      c.on('message', (m: { type: string; owner?: string; result?: RunResult; reason?: string; message?: string; record?: EpochRecord; config?: RunConfig } & Record<string, unknown>) => {
        if (m.type === 'ready') {
          owner = m.owner ?? null;
          resolve();
        } else if (m.type === 'epoch' && m.record && m.config) o.onEpoch(m.record, m.config);
        else if (m.type === 'progress' && current) o.onProgress(runId(current), current, m as unknown as EpochProgress);
        else if (m.type === 'done') settle?.({ result: m.result!, reason: m.reason });
        else if (m.type === 'error') settle?.({ result: 'failed', reason: m.message });
      });
    });
    c.on('exit', (code, signal) => {
      child = null;
      readyResolve?.();
      const dead = owner;
      owner = null;
      if (!settle || !current) return;
      const id = runId(current);
      const why = `worker process ${c.pid} exited (${signal ? `signal ${signal}` : `code ${code}`}) during the run`;
      const done = settle;
      o.store.failIfHeldBy(id, dead ?? '', why)
        .catch((e: Error) => o.log(`could not mark ${id} failed: ${e.message}`))
        .finally(() => done({ result: 'failed', reason: why }));
    });
  };
  return {
    async run(config) {
      if (!child) start();
      await ready;
      if (!child) return { result: 'failed', reason: 'the worker process exited before it was ready' };
      current = config;
      const outcome = await new Promise<SlotOutcome>((resolve) => {
        settle = resolve;
        child!.send({ type: 'run', config, options: { ...o.execute, results: o.results } });
      });
      settle = null;
      current = null;
      return outcome;
    },
    stop(reason) {
      child?.send({ type: 'stop', reason });
    },
    async close() {
      const c = child;
      if (!c) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { c.kill('SIGKILL'); }, 10000);
        c.once('exit', () => { clearTimeout(t); resolve(); });
        if (c.connected) c.send({ type: 'exit' });
        else c.kill('SIGTERM');
      });
    },
  };
}
