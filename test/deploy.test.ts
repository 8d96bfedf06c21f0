/**
 * The launch examples in deploy/, exercised as far as this machine allows (no Slurm, no Kubernetes):
 * the Slurm array script runs under bash as two array tasks would (SLURM_ARRAY_TASK_ID), the
 * Kubernetes Indexed Job's manifest is parsed (PyYAML) and its container command runs under sh as
 * completion index 1 would (JOB_COMPLETION_INDEX), each pointing at one real PostgreSQL store; the
 * array size and completions equal the protocol's run count, and `protocols --runs` lists the indices.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getProtocol } from '../src/runs/protocols';
import { startPostgres, type TestPostgres } from './fixtures/postgres';
import { makeMiniDataset, runCli, tinyProtocolFile } from './fixtures/reliability/support';
import { ROOT, tmpDir } from './helpers';

const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv) => new Promise<{ code: number | null; out: string }>((resolve) => {
  const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env } });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  p.on('exit', (code) => resolve({ code, out }));
});

describe('deploy/: Slurm array and Kubernetes Indexed Job on one PostgreSQL store', () => {
  let pg: TestPostgres;
  const dir = tmpDir('ws-deploy-');
  const data = makeMiniDataset({ train: 200, test: 20 });
  const file = tinyProtocolFile(dir, { name: 'deploy', seeds: 3, maxEpochs: 1 });
  const protocolArgs = `--protocol-file ${file} --data ${data} --batch-size 32 --workers 0`;
  const race = getProtocol('race-to-85');
  const raceRuns = race.arms.length * race.seeds;
  before(async () => { pg = await startPostgres(); });
  after(() => pg?.stop());

  it('protocols --runs lists the run indices of a protocol', () => {
    const r = runCli(['protocols', '--runs', 'deploy', '--protocol-file', file, '--data', data]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^protocol deploy: 3 runs \(--run-index 0\.\.2\) on cifar-10-mini$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split('\t').slice(0, 3)), [['0', 'cosine', 'seed 0'], ['1', 'cosine', 'seed 1'], ['2', 'cosine', 'seed 2']]);
  });

  it('the Slurm script: two array tasks train their own run each', async () => {
    const script = path.join(ROOT, 'deploy', 'slurm', 'race-to-85.sbatch');
    const text = fs.readFileSync(script, 'utf8');
    const array = /^#SBATCH --array=0-(\d+)%\d+$/m.exec(text);
    assert.ok(array, 'an array directive');
    assert.equal(Number(array[1]) + 1, raceRuns, 'one array task per run of race-to-85');
    const url = await pg.createDatabase('slurm');
    const tasks = await Promise.all(['0', '2'].map((id) => run('bash', [script], {
      SLURM_ARRAY_TASK_ID: id, SLURM_SUBMIT_DIR: ROOT, RESULTS_URL: url, PROTOCOL_ARGS: protocolArgs,
    })));
    tasks.forEach((t) => assert.equal(t.code, 0, t.out));
    assert.match(tasks[0].out, /\(run index 0 of 3\)/);
    assert.match(tasks[1].out, /\(run index 2 of 3\)/);
    const runs = await pg.sql<{ seed: number; attempts: number; status: string }>('slurm', 'SELECT seed, attempts, status FROM runs ORDER BY seed');
    assert.deepEqual(runs.map((r) => [r.seed, r.attempts, r.status]), [[0, 1, 'completed'], [2, 1, 'completed']]);
    const missing = spawnSync('bash', [script], { cwd: ROOT, env: { ...process.env, RESULTS_URL: url, SLURM_ARRAY_TASK_ID: '' }, encoding: 'utf8' });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /SLURM_ARRAY_TASK_ID/);
  });

  it('the Slurm script on SIGTERM (the time limit\'s --signal=B:TERM@120): the worker releases its run, the next attempt resumes it', async () => {
    const script = path.join(ROOT, 'deploy', 'slurm', 'race-to-85.sbatch');
    const text = fs.readFileSync(script, 'utf8');
    assert.match(text, /^#SBATCH --open-mode=append$/m, 'a requeued task appends to its log');
    assert.match(text, /^#SBATCH --signal=B:TERM@\d+$/m);
    const slow = tinyProtocolFile(dir, { name: 'deploy-term', seeds: 1, maxEpochs: 3, trainFraction: 1 }, 'term.json');
    const url = await pg.createDatabase('slurm_term');
    const env = { ...process.env, SLURM_ARRAY_TASK_ID: '0', SLURM_SUBMIT_DIR: ROOT, RESULTS_URL: url, PROTOCOL_ARGS: `--protocol-file ${slow} --data ${data} --batch-size 32 --workers 0 --threads 1` };
    const task = spawn('bash', [script], { cwd: ROOT, env });
    let out = '';
    const epoch1 = new Promise<void>((resolve) => task.stdout.on('data', (d) => { out += d; if (/\] epoch 1\/3 /.test(out)) resolve(); }));
    task.stderr.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((resolve) => task.on('exit', (code) => resolve(code)));
    await epoch1;
    task.kill('SIGTERM'); // to the script only, as Slurm's B: signals do
    assert.equal(await exited, 143, out);
    assert.match(out, /SIGTERM: stopping every run within one iteration and releasing it/);
    const [held] = await pg.sql<{ status: string; lease_owner: string | null; epochs_completed: number }>('slurm_term', 'SELECT status, lease_owner, epochs_completed FROM runs');
    assert.equal(held.status, 'running');
    assert.equal(held.lease_owner, null, 'released: claimable at once, not held by a dead owner');
    assert.ok(held.epochs_completed >= 1 && held.epochs_completed < 3, JSON.stringify(held));
    const again = await run('bash', [script], env);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, new RegExp(`resuming from the checkpoint of epoch ${held.epochs_completed}`));
    const [done] = await pg.sql<{ status: string; attempts: number }>('slurm_term', 'SELECT status, attempts FROM runs');
    assert.deepEqual(done, { status: 'completed', attempts: 2 });
  });

  it('the Kubernetes Indexed Job: completions match the protocol, and its command trains completion index 1', async () => {
    const manifest = path.join(ROOT, 'deploy', 'kubernetes', 'race-to-85-job.yaml');
    const parsed = spawnSync('/usr/bin/python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', manifest], { encoding: 'utf8' });
    assert.equal(parsed.status, 0, `PyYAML (Debian python3-yaml) must parse the manifest: ${parsed.stderr}`);
    const job = JSON.parse(parsed.stdout) as { kind: string; spec: { completionMode: string; completions: number; template: { spec: { containers: Array<{ command: string[]; args: string[]; env: Array<{ name: string; valueFrom?: unknown }> }> } } } };
    assert.equal(job.kind, 'Job');
    assert.equal(job.spec.completionMode, 'Indexed');
    assert.equal(job.spec.completions, raceRuns);
    const [container] = job.spec.template.spec.containers;
    assert.ok(container.env.some((e) => e.name === 'RESULTS_URL' && e.valueFrom), 'the store URL comes from a secret');
    assert.deepEqual(container.command, ['sh', '-c']);
    const url = await pg.createDatabase('kubernetes');
    const pod = await run('sh', ['-c', container.args[0]], { JOB_COMPLETION_INDEX: '1', RESULTS_URL: url, PROTOCOL_ARGS: protocolArgs });
    assert.equal(pod.code, 0, pod.out);
    const runs = await pg.sql<{ seed: number; status: string }>('kubernetes', 'SELECT seed, status FROM runs');
    assert.deepEqual(runs, [{ seed: 1, status: 'completed' }]);
    const status = runCli(['status', '--results', url]);
    assert.match(status.stdout, /cosine: 1 finished, 0 running, 2 waiting, 0 failed/);
  });
});
