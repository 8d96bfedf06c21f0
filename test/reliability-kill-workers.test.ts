/**
 * Reliability with worker processes (the default way protocols train): real CLI runs of a tiny
 * protocol with --workers 2, killed with SIGKILL:
 * - one worker child: its run is marked failed (src/runs/runner.ts, child 'exit'), the other runs go
 *   on (a new worker takes the queue), the protocol exits non-zero; re-running trains the failed run;
 * - the parent CLI only: the workers notice the closed IPC channel and exit (src/runs/worker.ts), the
 *   runs stay 'running' with their finished epochs, and re-running restarts them from epoch 1.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from './helpers';
import {
  alive, childPids, epochNumbers, makeMiniDataset, readStore, runCli, sleep, startCli, tinyArgs, tinyProtocolFile,
} from './fixtures/reliability/support';

const data = makeMiniDataset();
after(() => fs.rmSync(data, { recursive: true, force: true }));

test('a crashed worker (kill -9 of one child of a 2-worker run) marks its run failed; the others go on; re-running trains it', async () => {
  const dir = tmpDir('ws-rel-worker-');
  const results = path.join(dir, 'results.sqlite');
  const args = tinyArgs(tinyProtocolFile(dir, { maxEpochs: 2, seeds: 3 }), data, results, ['--workers', '2']);
  const cli = startCli(args);
  await cli.waitFor(/training in 2 worker processes/);
  await cli.waitFor(/epoch 1\/2/);
  const workers = childPids(cli.child.pid!);
  assert.equal(workers.length, 2, `two worker processes, got ${workers.join(', ')}`);
  const victim = workers[0];
  process.kill(victim, 'SIGKILL');
  const exit = await cli.exited;
  assert.equal(exit.code, 1, 'a failed run makes the protocol exit non-zero');
  const out = cli.lines.join('\n');
  assert.match(out, new RegExp(`failed: worker process ${victim} exited \\(signal SIGKILL\\) during the run`));
  assert.match(out, /trained 2, skipped 0 finished, failed 1/);
  assert.ok(!alive(workers[1]), 'the other worker exited after its work');

  const s = readStore(results);
  assert.equal(s.integrity, 'ok');
  assert.equal(s.runs.length, 3);
  const failed = s.runs.filter((r) => r.status === 'failed');
  assert.equal(failed.length, 1);
  assert.match(String(failed[0].error), new RegExp(`worker process ${victim} exited \\(signal SIGKILL\\)`));
  for (const r of s.runs.filter((x) => x.status !== 'failed')) {
    assert.equal(r.status, 'completed');
    assert.deepEqual(epochNumbers(s.epochs, r.run_id as string), [1, 2]);
  }
  const failedEpochs = epochNumbers(s.epochs, failed[0].run_id as string);
  assert.ok(failedEpochs.length < 2 && failedEpochs.every((e, i) => e === i + 1), `failed run keeps only finished epochs, got ${failedEpochs}`);

  const again = runCli(args);
  assert.equal(again.status, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /2 already finished, 1 to train/);
  const end = readStore(results);
  assert.deepEqual(end.runs.map((r) => r.status), ['completed', 'completed', 'completed']);
  assert.equal(end.epochs.length, 6);
  assert.equal(end.runs.find((r) => r.run_id === failed[0].run_id)!.attempts, 2);
});

test('kill -9 of the parent of 2 workers: the workers exit, finished epochs are kept once, re-running restarts and finishes the runs', async () => {
  const dir = tmpDir('ws-rel-parent-');
  const results = path.join(dir, 'results.sqlite');
  const args = tinyArgs(tinyProtocolFile(dir, { maxEpochs: 3, seeds: 2 }), data, results, ['--workers', '2']);
  const cli = startCli(args);
  await cli.waitFor(/epoch 1\/3/);
  const workers = childPids(cli.child.pid!);
  assert.equal(workers.length, 2);
  cli.child.kill('SIGKILL');
  await cli.exited;
  const t0 = Date.now();
  while (workers.some(alive)) {
    assert.ok(Date.now() - t0 < 60000, 'orphaned workers exit by themselves');
    await sleep(200);
  }
  const s = readStore(results);
  assert.equal(s.integrity, 'ok');
  assert.equal(s.runs.length, 2);
  for (const r of s.runs) {
    const done = epochNumbers(s.epochs, r.run_id as string);
    assert.deepEqual(done, Array.from({ length: done.length }, (_, i) => i + 1), 'finished epochs, each once');
    assert.equal(r.epochs_completed, done.length);
    assert.ok(r.status === 'running' || (r.status === 'completed' && done.length === 3), `${r.run_id}: ${r.status} after ${done.length} epochs`);
  }
  assert.ok(s.runs.some((r) => r.status === 'running'), 'killed before the end');

  const again = runCli(args);
  assert.equal(again.status, 0, again.stdout + again.stderr);
  assert.doesNotMatch(again.stdout, /being trained by another live process/);
  const end = readStore(results);
  assert.deepEqual(end.runs.map((r) => r.status), ['completed', 'completed']);
  for (const r of end.runs) assert.deepEqual(epochNumbers(end.epochs, r.run_id as string), [1, 2, 3]);
});
