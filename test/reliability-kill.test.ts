/**
 * Reliability: runs survive kill -9. Real CLI processes train a tiny protocol (mini CIFAR-10 subset,
 * ~3 iterations per epoch) and are killed with SIGKILL in the middle of an epoch, inside the
 * epoch-end write (fault hook WS_FAULT=kill-in-epoch-write:N in src/runs/store.ts), and as one
 * worker child of a 2-worker run.
 *
 * Documented behaviour checked here: there are no mid-run checkpoints. Every finished epoch is in
 * the store exactly once; an unfinished run stays 'running' (or 'failed' when its worker died under
 * a live parent) and re-running the protocol restarts it from epoch 1 (store.startRun deletes the
 * old attempt's epochs in the same transaction), then finishes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { tmpDir } from './helpers';
import { openResultsStore } from '../src/runs/store';
import {
  alive, childPids, epochNumbers, makeMiniDataset, readStore, runCli, sleep, startCli, tinyArgs, tinyProtocolFile,
} from './fixtures/reliability/support';

const data = makeMiniDataset();

/** Re-runs the protocol and checks that the run is trained again from epoch 1 and finished. */
function rerunAndCheck(args: string[], results: string, runId: string, maxEpochs: number, attempts: number) {
  const r = runCli(args);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /0 already finished, 1 to train/);
  const after = readStore(results);
  assert.equal(after.integrity, 'ok');
  assert.deepEqual(epochNumbers(after.epochs, runId), Array.from({ length: maxEpochs }, (_, i) => i + 1), 'every epoch exactly once after the restart');
  const row = after.runs.find((x) => x.run_id === runId)!;
  assert.equal(row.status, 'completed');
  assert.equal(row.epochs_completed, maxEpochs);
  assert.equal(row.attempts, attempts);
  // a third run skips it
  const again = runCli(args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /1 already finished, 0 to train/);
}

test('kill -9 in the middle of an epoch: store opens cleanly, finished epochs once, run restarts from epoch 1 and finishes', async () => {
  const dir = tmpDir('ws-rel-kill-');
  const results = path.join(dir, 'results.sqlite');
  const args = tinyArgs(tinyProtocolFile(dir, { maxEpochs: 3 }), data, results, ['--workers', '0']);
  const cli = startCli(args);
  await cli.waitFor(/epoch 1\/3/);
  await sleep(500); // epoch 2 takes >= 2 s: 3 training iterations, then 200 images evaluated
  cli.child.kill('SIGKILL');
  const exit = await cli.exited;
  assert.equal(exit.signal, 'SIGKILL');
  assert.ok(!cli.lines.some((l) => /epoch 3\/3/.test(l)), 'killed before the end');

  const s = readStore(results);
  assert.equal(s.integrity, 'ok');
  assert.equal(s.runs.length, 1);
  const run = s.runs[0];
  const id = run.run_id as string;
  assert.equal(run.status, 'running');
  const done = epochNumbers(s.epochs, id);
  const printed = cli.lines.filter((l) => /\] epoch \d\/3/.test(l)).length;
  assert.equal(printed, 1, 'killed during epoch 2');
  assert.deepEqual(done, [1], 'exactly the finished epoch, once');
  assert.equal(run.epochs_completed, printed);
  // the workspace's own store code opens it too (WAL recovered), and the run is resumable
  const store = openResultsStore(results);
  assert.equal(store.getRun(id)!.status, 'running');
  store.close();

  rerunAndCheck(args, results, id, 3, 2);
});

test('kill -9 inside the epoch-end write (WS_FAULT=kill-in-epoch-write:2): epoch 2 is absent, epoch 1 intact, then finished', () => {
  const dir = tmpDir('ws-rel-killwrite-');
  const results = path.join(dir, 'results.sqlite');
  const args = tinyArgs(tinyProtocolFile(dir, { maxEpochs: 2 }), data, results, ['--workers', '0']);
  const killed = runCli(args, { env: { WS_FAULT: 'kill-in-epoch-write:2' } });
  assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
  assert.doesNotMatch(killed.stdout, /epoch 2\/2/);

  const s = readStore(results);
  assert.equal(s.integrity, 'ok');
  const run = s.runs[0];
  const id = run.run_id as string;
  assert.equal(run.status, 'running');
  assert.deepEqual(epochNumbers(s.epochs, id), [1], 'the interrupted transaction left nothing of epoch 2');
  assert.equal(run.epochs_completed, 1, 'the summary update of epoch 2 was rolled back with it');

  rerunAndCheck(args, results, id, 2, 2);
});

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
