/**
 * `--threads auto` and the default workers use the CPUs this process may use (issue 20): its CPU
 * affinity (a real process started under `taskset`), SLURM_CPUS_PER_TASK, and a cgroup quota; the
 * parsers against values worked out by hand from the kernel's formats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { countCpuList, quotaCpus } from '../src/runs/cpus';
import { DIST_SRC } from './fixtures/reliability/support';

test('CPU lists and cgroup quotas', () => {
  assert.equal(countCpuList('0-3,8,10-11'), 7);
  assert.equal(countCpuList('5'), 1);
  assert.equal(countCpuList('0-1\n'), 2);
  assert.equal(countCpuList('3-1'), null);
  assert.equal(countCpuList('x'), null);
  assert.equal(quotaCpus('max 100000'), null);
  assert.equal(quotaCpus('150000 100000'), 2);
  assert.equal(quotaCpus('50000 100000'), 1);
  assert.equal(quotaCpus('-1', '100000'), null);
  assert.equal(quotaCpus('400000', '100000'), 4);
});

test('a real process under taskset, and one with SLURM_CPUS_PER_TASK, get that many CPUs', () => {
  const probe = `console.log(JSON.stringify(require(${JSON.stringify(path.join(DIST_SRC, 'runs', 'cpus.js'))}).availableCpus()))`;
  const nproc = Number(spawnSync('nproc', { encoding: 'utf8', env: {} }).stdout.trim()); // coreutils: the affinity's CPUs
  const free = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env: { ...process.env, SLURM_CPUS_PER_TASK: '' } });
  assert.ok(JSON.parse(free.stdout).count <= nproc, free.stdout + free.stderr);
  const pinned = spawnSync('taskset', ['-c', '0', process.execPath, '-e', probe], { encoding: 'utf8' });
  assert.equal(pinned.status, 0, pinned.stderr);
  assert.deepEqual(JSON.parse(pinned.stdout), { count: 1, limitedBy: 'CPU affinity 0' });
  const slurm = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env: { ...process.env, SLURM_CPUS_PER_TASK: '1' } });
  assert.equal(JSON.parse(slurm.stdout).count, 1, slurm.stdout);
  if (nproc > 1) assert.equal(JSON.parse(slurm.stdout).limitedBy, 'SLURM_CPUS_PER_TASK=1');
});
