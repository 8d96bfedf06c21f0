/**
 * deploy/slurm/race-to-85.sbatch on a real single-node Slurm cluster (test/fixtures/slurm.ts) into a
 * real PostgreSQL (issue 20): a job array drains a small protocol; one task is requeued mid-run
 * (`scontrol requeue`), one is stopped by its time limit (SIGTERM from --signal=B:TERM@S, the task
 * requeues itself); every run finishes once, with epochs equal to an uninterrupted run's, each task's
 * log holds all its attempts (--open-mode=append), and `--threads auto` uses SLURM_CPUS_PER_TASK.
 * Slurm delays a requeued job by about two minutes; the test starts it at once (`scontrol update
 * StartTime=now`), as an administrator may, and gives the time-limited task 10 minutes for its
 * second attempt (TimeLimit=10). Fails (never skips) when Slurm is not installed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { requireComponent } from './fixtures/components';
import { startPostgres, type TestPostgres } from './fixtures/postgres';
import { slurmMissing, startSlurm, type TestSlurm } from './fixtures/slurm';
import { makeMiniDataset, runCli, sleep, tinyProtocolFile } from './fixtures/reliability/support';
import { ROOT, tmpDir } from './helpers';

const skip = requireComponent('slurm', slurmMissing(), __filename);
const VALUES = 'run_id, epoch, iteration, learning_rate, train_loss, train_accuracy, validation_loss, validation_accuracy, test_loss, test_accuracy';

describe('a Slurm job array drains a protocol into PostgreSQL through requeues and time limits', { skip: skip || undefined }, () => {
  let pg: TestPostgres;
  let slurm: TestSlurm;
  const dir = tmpDir('ws-slurm-test-');
  fs.chmodSync(dir, 0o755);
  before(async () => {
    pg = await startPostgres();
    slurm = await startSlurm();
  });
  after(() => {
    slurm?.stop();
    pg?.stop();
  });

  it('every run finishes once, equal to an uninterrupted run, one task requeued mid-run and one stopped by its time limit', async () => {
    // 2,700 training images: an epoch takes longer than Slurm's 30 s check of time limits, so the
    // time-limited task is signalled mid-run
    const data = makeMiniDataset({ train: 3000, test: 100 });
    const file = tinyProtocolFile(dir, { name: 'slurm', seeds: 3, maxEpochs: 3, trainFraction: 1 }, 'slurm.json');
    const reference = path.join(dir, 'reference.sqlite');
    const ref = runCli(['experiment', '--protocol-file', file, '--data', data, '--results', reference, '--batch-size', '32', '--workers', '2', '--threads', '1'], { timeoutMs: 600000 });
    assert.equal(ref.status, 0, ref.stdout + ref.stderr);
    const url = await pg.createDatabase('slurm');
    const env = { RESULTS_URL: url, PROTOCOL_ARGS: `--protocol-file ${file} --data ${data} --batch-size 32` };
    const script = path.join(ROOT, 'deploy', 'slurm', 'race-to-85.sbatch');
    const sbatch = (args: string[]) => slurm.client('sbatch', ['--parsable', '--cpus-per-task=1', `--output=${dir}/slurm-%A_%a.out`, `--chdir=${ROOT}`, ...args, script], env).trim().split(';')[0];
    const array = sbatch(['--array=0-1']);
    const limited = sbatch(['--array=2', '--time=1', '--signal=B:TERM@55']);
    const log = (job: string, task: number) => {
      try {
        return fs.readFileSync(path.join(dir, `slurm-${job}_${task}.out`), 'utf8');
      } catch {
        return '';
      }
    };
    const ids = [`${array}_0`, `${array}_1`, `${limited}_2`];
    let requeued = false;
    const deadline = Date.now() + 720000;
    for (;;) {
      if (!requeued && /\] epoch 1\/3 /.test(log(array, 0))) {
        slurm.client('scontrol', ['requeue', `${array}_0`]);
        requeued = true;
      }
      const jobs = ids.map((id) => slurm.job(id));
      for (const [i, j] of jobs.entries()) {
        // a requeued task starts at once; the time-limited one with time to finish (an administrator's extension)
        if (j.JobState === 'PENDING' && j.Reason === 'BeginTime') slurm.client('scontrol', ['update', `JobId=${ids[i]}`, 'StartTime=now', ...(i === 2 ? ['TimeLimit=10'] : [])]);
      }
      if (jobs.every((j) => !['PENDING', 'RUNNING', 'REQUEUED', 'COMPLETING', 'CONFIGURING'].includes(j.JobState))) break;
      if (Date.now() > deadline) assert.fail(`jobs not done after 12 minutes: ${JSON.stringify(jobs.map((j) => [j.JobId, j.JobState, j.Reason]))}\n${log(array, 0)}\n${log(limited, 2)}`);
      await sleep(2000);
    }
    const logs = [log(array, 0), log(array, 1), log(limited, 2)];
    const all = logs.join('\n----\n');
    assert.ok(requeued, all);
    for (const id of ids) {
      const j = slurm.job(id);
      assert.deepEqual([j.JobState, j.ExitCode], ['COMPLETED', '0:0'], `${id}: ${JSON.stringify(j)}\n${all}`);
    }
    assert.ok(Number(slurm.job(ids[0]).Restarts) >= 1 && Number(slurm.job(ids[2]).Restarts) >= 1, 'tasks 0 and 2 ran more than once');
    assert.equal(Number(slurm.job(ids[1]).Restarts), 0);
    for (const i of [0, 2]) {
      assert.match(logs[i], /attempt 1 on/, logs[i]);
      assert.match(logs[i], /attempt 2 on/, 'the log of the first attempt is kept (appended)');
    }
    assert.match(logs[0], /SIGTERM: stopping every run within one iteration and releasing it/);
    assert.match(logs[0], /released: resumable from its last checkpoint/);
    assert.match(logs[0], /resuming from the checkpoint of epoch [12]/);
    assert.match(logs[2], /stopped by a signal \(worker exit 143\), run released; requeueing this task/);
    for (const l of logs) assert.match(l, /1 thread per run \(--threads auto: 1 CPU, SLURM_CPUS_PER_TASK=1\)/);
    assert.ok(!all.includes('pw-Very-Secret'), 'no password in the logs');

    const runs = await pg.sql<{ seed: number; status: string; lease_owner: string | null; epochs_completed: number }>('slurm', 'SELECT seed, status, lease_owner, epochs_completed FROM runs ORDER BY seed');
    assert.deepEqual(runs.map((r) => [r.seed, r.status, r.lease_owner, r.epochs_completed]), [0, 1, 2].map((s) => [s, 'completed', null, 3]));
    const got = await pg.sql(`slurm`, `SELECT ${VALUES} FROM epochs ORDER BY run_id, epoch`);
    const db = new Database(reference, { readonly: true });
    const want = db.prepare(`SELECT ${VALUES} FROM epochs ORDER BY run_id, epoch`).all();
    db.close();
    assert.equal(got.length, 9);
    assert.deepEqual(got, want, 'every epoch once, equal to the uninterrupted runs (doubles)');
  });
});
