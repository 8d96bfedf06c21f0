/**
 * Worker process entry (child_process.fork): trains the runs the parent sends, one at a time, with
 * this process's own tfjs engine and its own connection to the results store, under leases of its
 * own worker identity.
 * Messages in:  { type: 'run', config, options } | { type: 'stop', reason } | { type: 'exit' }
 * Messages out: { type: 'ready', owner } | { type: 'epoch', record, config } | { type: 'progress', runId, ... }
 *               | { type: 'done', runId, result, reason } | { type: 'error', runId, message }
 * SIGINT/SIGTERM (a terminal's Ctrl-C reaches the whole process group) and a vanished parent stop the
 * current run within one iteration and release it, resumable; the parent decides the rest.
 */
import { executeRun, type ExecuteOptions } from './execute';
import { openResultsStore, workerIdentity, type ResultsStore } from '../store';
import { runId } from '../train/config';
import type { RunConfig } from '../train/config';

type RunOptions = Omit<ExecuteOptions, 'worker' | 'onEpoch' | 'onProgress' | 'onSkip' | 'shouldStop' | 'log'> & { results: string };

const worker = workerIdentity();
let store: ResultsStore | null = null;
let stopReason: string | null = null;
let busy = false;
let parentGone = false;

const send = (m: unknown) => new Promise<void>((resolve) => {
  if (!process.send || !process.connected) return resolve();
  process.send(m, () => resolve());
});

async function quit(code: number): Promise<never> {
  await store?.close().catch(() => undefined);
  process.exit(code);
}

process.on('message', (m: { type: 'run'; config: RunConfig; options: RunOptions } | { type: 'stop'; reason: string } | { type: 'exit' }) => {
  if (m.type === 'exit') return void quit(0);
  if (m.type === 'stop') {
    stopReason = m.reason;
    return;
  }
  const id = runId(m.config);
  let reason: string | undefined;
  busy = true;
  (async () => {
    store ??= await openResultsStore(m.options.results, { log: (l) => console.error(l) });
    return executeRun(m.config, {
      ...m.options,
      worker,
      shouldStop: () => stopReason,
      onSkip: (r) => { reason = r; },
      onEpoch: (record, config) => { void send({ type: 'epoch', record, config }); },
      onProgress: (p) => { void send({ type: 'progress', runId: id, ...p }); },
    }, store);
  })().then(
    (result) => send({ type: 'done', runId: id, result, reason }),
    (e: Error) => send({ type: 'error', runId: id, message: e.message }),
  ).finally(() => {
    busy = false;
    if (parentGone) void quit(0);
  });
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopReason ??= `stopped by ${signal}`;
    if (!busy) void quit(0);
  });
}

// the parent is gone (killed, or closed the channel): stop the run within one iteration, release it
// resumable, and exit; a run stuck in a step past 5 s is left to its lease (same host: taken over at once)
process.on('disconnect', () => {
  parentGone = true;
  stopReason ??= 'the parent process is gone';
  if (!busy) void quit(0);
  setTimeout(() => process.exit(0), 5000).unref();
});

void send({ type: 'ready', pid: process.pid, owner: worker.owner });
