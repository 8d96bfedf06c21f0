/**
 * Worker process entry (child_process.fork): trains the runs the parent sends, one at a time, each
 * with this process's own tfjs engine, writing to the shared results store (WAL).
 * Messages in:  { type: 'run', config, options: { storePath, dataDir, backend } } | { type: 'exit' }
 * Messages out: { type: 'epoch', record, config } | { type: 'progress', runId, ... } | { type: 'done', runId, status }
 *               | { type: 'error', runId, message }
 */
import { executeRun } from './execute';
import { runId } from '../train/config';
import type { RunConfig } from '../train/config';
import type { BackendChoice } from '../engine/engine';

interface RunMessage {
  type: 'run';
  config: RunConfig;
  options: { storePath: string; dataDir: string; backend: BackendChoice };
}

const send = (m: unknown) => new Promise<void>((resolve) => {
  if (!process.send) return resolve();
  process.send(m, () => resolve());
});

process.on('message', (m: RunMessage | { type: 'exit' }) => {
  if (m.type === 'exit') {
    process.exit(0);
  }
  const id = runId(m.config);
  let reason: string | undefined;
  executeRun(m.config, {
    ...m.options,
    onSkip: (r) => { reason = r; },
    onEpoch: (record, config) => { void send({ type: 'epoch', record, config }); },
    onProgress: (p) => { void send({ type: 'progress', runId: id, ...p }); },
  }).then(
    (status) => send({ type: 'done', runId: id, status, reason }),
    (e: Error) => send({ type: 'error', runId: id, message: e.message }),
  );
});

// the parent is gone (killed, or closed the channel): stop rather than train on unobserved; the run
// stays 'running' in the store and restarts from epoch 1 when the protocol is run again
process.on('disconnect', () => process.exit(0));

void send({ type: 'ready', pid: process.pid });
