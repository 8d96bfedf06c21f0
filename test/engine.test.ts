import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { selectEngine, currentEngine } from '../src/engine/engine';
import { loadOneDnn } from '../src/engine/onednn';
import { runsFrame } from '../src/analysis/frames';
import { requireComponent } from './fixtures/components';

const aliasInstalled = (() => {
  try {
    const pkg = JSON.parse(fs.readFileSync(require.resolve('@tensorflow/tfjs-node/package.json'), 'utf8')) as { name: string };
    return pkg.name === '@tensorflow/tfjs';
  } catch {
    return false;
  }
})();

test('the danfojs-node alias of @tensorflow/tfjs-node is not taken for the native binding', { skip: requireComponent('npm-overrides', aliasInstalled ? false : '@tensorflow/tfjs-node does not resolve to the @tensorflow/tfjs alias of package.json overrides', __filename) }, async () => {
  await assert.rejects(selectEngine({ backend: 'tfjs-node' }),
    /backend tfjs-node cannot be used: @tensorflow\/tfjs-node resolves to @tensorflow\/tfjs@4\.22\.0 \(the danfojs-node alias\)/);
  const e = await selectEngine({ backend: 'auto' });
  // the wasm backend, with oneDNN's convolutions when the optional addon is built (test/onednn.test.ts)
  assert.equal(e.tfBackend, 'wasm');
  assert.equal(e.backend, loadOneDnn() === null ? 'onednn' : 'wasm');
  assert.ok(e.skipped.some((s) => /danfojs-node alias/.test(s)), e.skipped.join('; '));
  assert.equal(e.versions['@tensorflow/tfjs'], '4.22.0');
  assert.equal(e.versions['@tensorflow/tfjs-backend-wasm'], '4.22.0');
  assert.ok(e.kernels.some((k) => k.startsWith('Conv2DBackpropFilter')));
  await assert.rejects(selectEngine({ backend: 'cpu' }), /backend (wasm|onednn) is already selected in this process; cannot switch to cpu/);
  await assert.rejects(selectEngine({ backend: 'metal' as never }), /unknown backend "metal"/);
});

test('danfo shares the one tfjs engine of the process', async () => {
  await selectEngine({ backend: 'auto' });
  const df = runsFrame([{
    runId: 'r', protocol: 'p', arm: 'a', seed: 0, config: {}, backend: 'wasm', status: 'completed', target: 0.85,
    epochsToTarget: 21, iterationsToTarget: 7392, secondsToTarget: 100, epochsCompleted: 21, finalTestAccuracy: 0.91,
    bestValidationAccuracy: 0.86, testAccuracyAtBestValidation: 0.9, error: null, startedAt: '', finishedAt: null,
  }]);
  assert.deepEqual(df.shape, [1, 14]);
  assert.equal(tf.getBackend(), currentEngine()!.tfBackend);
  // the alias package (what danfo requires) resolves to the same tfjs-core engine
  const aliasTf = require('@tensorflow/tfjs-node') as typeof tf;
  assert.equal(aliasTf.engine(), tf.engine());
  assert.equal(aliasTf.getBackend(), 'wasm');
});
