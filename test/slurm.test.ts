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
    // 2,700 training images, 6 epochs: the time-limited task gets Slurm's signal 5-35 s after it starts
    // (slurmctld checks time limits every 30 s), and its run must still be training then, on a fast
    // machine too (3 epochs took under 35 s on one: its run finished before the signal)
    const data = makeMiniDataset({ train: 3000, test: 100 });
    const file = tinyProtocolFile(dir, { name: 'slurm', seeds: 3, maxEpochs: 6, trainFraction: 1 }, 'slurm.json');
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
      if (!requeued && /\] epoch 1\/6 /.test(log(array, 0))) {
        slurm.client('scontrol', ['requeue', `${array}_0`]);
        requeued = true;
      }
      const jobs = ids.map((id) => slurm.job(id));
      for (const [i, j] of jobs.entries()) {
        // a requeued task starts at once; the time-limited one with time to finish (an administrator's extension)
        // (once its previous attempt is gone from the node: a task that requeued itself is PENDING while
        // its batch script still exits, and an attempt started then fails at once with exit 1)
        if (j.JobState === 'PENDING' && j.Reason === 'BeginTime' && !stepRunning(j.JobId)) {
          slurm.client('scontrol', ['update', `JobId=${ids[i]}`, 'StartTime=now', ...(i === 2 ? ['TimeLimit=10'] : [])]);
        }
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
    const restarts = ids.map((id) => Number(slurm.job(id).Restarts));
    assert.ok(restarts[0] >= 1 && restarts[2] >= 1, `tasks 0 and 2 ran more than once (restarts per task: ${restarts.join(', ')})\n${all}`);
    assert.equal(restarts[1], 0);
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
    assert.deepEqual(runs.map((r) => [r.seed, r.status, r.lease_owner, r.epochs_completed]), [0, 1, 2].map((s) => [s, 'completed', null, 6]));
    const got = await pg.sql(`slurm`, `SELECT ${VALUES} FROM epochs ORDER BY run_id, epoch`);
    const db = new Database(reference, { readonly: true });
    const want = db.prepare(`SELECT ${VALUES} FROM epochs ORDER BY run_id, epoch`).all();
    db.close();
    assert.equal(got.length, 18);
    assert.deepEqual(got, want, 'every epoch once, equal to the uninterrupted runs (doubles)');
  });
});

/** The processes of this machine: pid -> [parent pid, command line]. */
function processes(): Map<number, [number, string]> {
  const all = new Map<number, [number, string]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      all.set(Number(name), [ppid, fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ')]);
    } catch {
      // the process has ended
    }
  }
  return all;
}

/** Whether a slurmstepd of the job (raw job id, as `scontrol show job` gives JobId) still runs on this node. */
function stepRunning(jobId: string): boolean {
  return [...processes().values()].some(([, cmd]) => cmd.startsWith(`slurmstepd: [${jobId}.`));
}

