/**
 * Two protocol files with the same `name` but different arms, training fractions and validation
 * sizes, trained into one store by the real CLI (issue 20): `analyze --protocol tiny` refuses to
 * compare them, naming the two arms and the fields that differ, and exits 1; each definition
 * alone is analysed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { tmpDir } from './helpers';
import { makeMiniDataset, runCli, tinyArgs, tinyProtocolFile } from './fixtures/reliability/support';

test('analyze never compares runs of two definitions saved under one protocol name', () => {
  const dir = tmpDir('ws-definitions-');
  const data = makeMiniDataset({ train: 400, test: 40 });
  const results = path.join(dir, 'results.sqlite');
  const first = tinyProtocolFile(dir, { maxEpochs: 1, trainFraction: 0.2, validationCount: 40 }, 'first.json');
  const second = tinyProtocolFile(dir, {
    maxEpochs: 1, trainFraction: 0.25, validationCount: 50,
    arms: [{ name: 'constant', schedule: { kind: 'constant', lr: 0.05 } }],
  }, 'second.json');
  for (const file of [first, second]) {
    const r = runCli(tinyArgs(file, data, results, ['--workers', '0', '--threads', '1']));
    assert.equal(r.status, 0, r.stdout + r.stderr);
  }
  const refused = runCli(['analyze', '--protocol', 'tiny', '--results', results]);
  assert.equal(refused.status, 1, refused.stdout + refused.stderr);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.match(refused.stderr, /^error: .*results\.sqlite: refusing to compare protocol tiny: arms (constant and cosine|cosine and constant) differ beyond their schedules \(/);
  assert.match(refused.stderr, /data\.validationCount: (40 vs 50|50 vs 40)/);
  assert.match(refused.stderr, /data\.trainFraction: (0\.2 vs 0\.25|0\.25 vs 0\.2)/);
  assert.doesNotMatch(refused.stdout, /Welch/);
  const mixed = runCli(['analyze', '--protocol', 'tiny', '--results', results, '--allow-mixed-configs']);
  assert.equal(mixed.status, 1, 'not even with --allow-mixed-configs');
});
