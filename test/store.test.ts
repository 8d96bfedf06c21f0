import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openResultsStore, SCHEMA_VERSION, exportCsv } from '../src/runs';
import type { EpochRecord } from '../src/runs';
import { tmpDir } from './helpers';

const start = (runId: string) => ({
  runId, protocol: 'p', arm: 'a', seed: 0, config: { x: 1 }, configHash: 'h', target: 0.85, backend: 'wasm',
  versions: { '@tensorflow/tfjs': '4.22.0' }, codeVersion: 'abc',
});
const epoch = (runId: string, e: number): EpochRecord => ({
  runId, epoch: e, iteration: e * 10, learningRate: 0.1, trainLoss: 1, trainAccuracy: 0.5, validationLoss: 1,
  validationAccuracy: 0.5, testLoss: 1, testAccuracy: 0.5, trainSeconds: e, totalSeconds: e + 0.5,
});

test('epochs are written per epoch, restart clears an unfinished attempt, CSV export', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'r.sqlite');
  const s = openResultsStore(file);
  s.startRun(start('r1'));
  s.recordEpoch(epoch('r1', 1), { epochsCompleted: 1, bestValidationAccuracy: 0.5 });
  s.recordEpoch(epoch('r1', 2), { epochsCompleted: 2 });
  assert.equal(s.getRun('r1')!.status, 'running');
  assert.equal(s.listEpochs(['r1']).length, 2);
  s.startRun(start('r1')); // restart: the run starts again from epoch 1
  assert.equal(s.listEpochs(['r1']).length, 0);
  s.recordEpoch(epoch('r1', 1), { epochsCompleted: 1, epochsToTarget: 1, iterationsToTarget: 10, secondsToTarget: 1 });
  s.finishRun('r1', { status: 'completed' });
  const r = s.getRun('r1') as ReturnType<typeof s.getRun> & { attempts: number };
  assert.equal(r!.status, 'completed');
  assert.equal(r!.epochsToTarget, 1);
  assert.equal(r.attempts, 2);
  assert.deepEqual(r!.config, { x: 1 });
  s.close();
  const files = exportCsv(file, path.join(dir, 'csv'));
  const runsCsv = fs.readFileSync(files[0], 'utf8').trim().split('\n');
  assert.equal(runsCsv.length, 2);
  assert.match(runsCsv[0], /^runId,protocol,arm,seed,/);
  const epochsCsv = fs.readFileSync(files[1], 'utf8').trim().split('\n');
  assert.equal(epochsCsv.length, 2);
  assert.equal(epochsCsv[1].split(',')[0], 'r1');
});

test('a store from a newer schema version is refused; unwritable path and missing store are named', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'new.sqlite');
  openResultsStore(file).close();
  const db = new Database(file);
  db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION + 1));
  db.close();
  assert.throws(() => openResultsStore(file), new RegExp(`new\\.sqlite: schema version ${SCHEMA_VERSION + 1} is newer than this code's ${SCHEMA_VERSION}`));
  assert.throws(() => openResultsStore(path.join(dir, 'none.sqlite'), { readonly: true }), /none\.sqlite: results store does not exist/);
  const notDb = path.join(dir, 'text.sqlite');
  fs.writeFileSync(notDb, 'this is not a database, just text '.repeat(100));
  assert.throws(() => openResultsStore(notDb), /text\.sqlite: cannot open as a results store/);
  if (process.getuid && process.getuid() !== 0) {
    const ro = path.join(dir, 'ro');
    fs.mkdirSync(ro, { mode: 0o555 });
    assert.throws(() => openResultsStore(path.join(ro, 'x.sqlite')), /not writable/);
  }
  const blocker = path.join(dir, 'blocker');
  fs.writeFileSync(blocker, 'a file where a folder is expected');
  assert.throws(() => openResultsStore(path.join(blocker, 'results.sqlite')), /results\.sqlite: not writable \(EEXIST|ENOTDIR\)/);
});
