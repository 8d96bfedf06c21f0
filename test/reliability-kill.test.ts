/**
 * Reliability: runs survive kill -9. Real CLI processes train a tiny protocol (mini CIFAR-10 subset,
 * 3 iterations per epoch, 15 in the mid-epoch kill) in-process (--workers 0) and are killed with SIGKILL in the middle of an
 * epoch and inside the epoch-end write (fault hook WS_FAULT=kill-in-epoch-write:N in
 * src/store/sql/). Worker processes: test/reliability-kill-workers.test.ts.
 *
 * Documented behaviour checked here: there are no mid-run checkpoints. Every finished epoch is in
 * the store exactly once; an unfinished run stays 'running' (or 'failed' when its worker died under
 * a live parent) and re-running the protocol restarts it from epoch 1 (store.startRun deletes the
 * old attempt's epochs in the same transaction), then finishes it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from './helpers';
import { openResultsStore } from '../src/store';
import {
  epochNumbers, makeMiniDataset, readStore, runCli, sleep, startCli, tinyArgs, tinyProtocolFile,
} from './fixtures/reliability/support';

const data = makeMiniDataset();
after(() => fs.rmSync(data, { recursive: true, force: true }));

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
  // half of the 900 training images: 15 iterations per epoch, so epoch 2 lasts over a second even
  // on a fast machine (with a tenth, 3 iterations, it ended within 0.5 s in a CI check)
  const args = tinyArgs(tinyProtocolFile(dir, { maxEpochs: 3, trainFraction: 0.5 }), data, results, ['--workers', '0']);
  const cli = startCli(args);
  await cli.waitFor(/epoch 1\/3/);
  await sleep(100); // inside epoch 2, whose first iteration has begun
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
  const store = await openResultsStore(results);
  assert.equal((await store.getRun(id))!.status, 'running');
  await store.close();

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
