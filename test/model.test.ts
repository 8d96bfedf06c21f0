import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createResNet } from '../src/model/resnet';
import { selectEngine } from '../src/engine/engine';
import { createTrainState, trainStep } from '../src/train/step';

interface Fixture {
  parameterCounts: Record<string, number>;
  parameters: [string, number[]][];
  labels: number[];
  evalLogits: number[][];
  trainLogits: number[][];
  loss: number;
  sgdLosses: number[];
  evalLogitsAfterSgd: number[][];
}
const fx: Fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '../../test/fixtures/resnet-torch.json'), 'utf8'));

before(async () => {
  await selectEngine({ backend: 'wasm' });
});

/** Sets our variables to the fixture's deterministic weights, converting PyTorch layouts to tfjs ones. */
function loadFixtureWeights(vars: tf.Variable[]): void {
  assert.equal(vars.length, fx.parameters.length);
  vars.forEach((v, k) => {
    const shape = fx.parameters[k][1];
    const size = shape.reduce((a, b) => a * b, 1);
    assert.equal(v.size, size, `parameter ${fx.parameters[k][0]}`);
    const flat = new Float32Array(size);
    for (let j = 0; j < size; j++) flat[j] = 0.05 * Math.sin(1.7 * k + 0.37 * j);
    let t: tf.Tensor = tf.tensor(flat, shape);
    if (shape.length === 4) t = tf.transpose(t, [2, 3, 1, 0]); // [out,in,kh,kw] -> [kh,kw,in,out]
    if (shape.length === 2) t = tf.transpose(t); // Linear [out,in] -> [in,out]
    v.assign(t as tf.Tensor);
    t.dispose();
  });
}

function fixtureInput(): Float32Array {
  const nchw = new Float64Array(4 * 3 * 32 * 32).map((_, j) => Math.cos(0.01 * j));
  const nhwc = new Float32Array(nchw.length);
  for (let n = 0; n < 4; n++) for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) nhwc[n * 3072 + p * 3 + c] = nchw[n * 3072 + c * 1024 + p];
  return nhwc;
}

function assertClose(actual: ArrayLike<number>, expected: number[], tol: number, what: string) {
  const scale = Math.max(...expected.map(Math.abs));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * scale, `${what}[${i}]: ${actual[i]} vs PyTorch ${expected[i]}`);
  }
}

test('parameter counts equal PyTorch akamaster ResNets (ResNet-20: 269,722)', () => {
  assert.equal(fx.parameterCounts['20'], 269722);
  for (const depth of [20, 32, 44, 56, 110]) {
    const m = createResNet({ depth, seed: 0 });
    assert.equal(m.parameterCount(), fx.parameterCounts[String(depth)], `depth ${depth}`);
    m.dispose();
  }
  assert.throws(() => createResNet({ depth: 21, seed: 0 }), /depth must be 6n\+2/);
});

test('ResNet-20 forward (eval and train mode) equals PyTorch with the same weights', () => {
  const m = createResNet({ depth: 20, seed: 0 });
  loadFixtureWeights(m.trainable);
  const x = tf.tensor4d(fixtureInput(), [4, 32, 32, 3]);
  const evalLogits = tf.tidy(() => m.forward(x, false).logits.dataSync());
  assertClose(evalLogits, fx.evalLogits.flat(), 1e-4, 'eval logits');
  const trainLogits = tf.tidy(() => m.forward(x, true).logits.dataSync());
  assertClose(trainLogits, fx.trainLogits.flat(), 1e-4, 'train logits');
  x.dispose();
  m.dispose();
});

test('three SGD steps (momentum 0.9, weight decay 1e-4) and BN running statistics equal PyTorch', () => {
  const state = createTrainState({ depth: 20, seed: 0 });
  loadFixtureWeights(state.model.trainable);
  const images = fixtureInput();
  const labels = Int32Array.from(fx.labels);
  const losses = [0, 1, 2].map(() => trainStep(state, images, labels, 0.1).loss);
  assertClose(losses, fx.sgdLosses, 1e-4, 'loss');
  assert.ok(Math.abs(losses[0] - fx.loss) < 1e-4);
  const x = tf.tensor4d(images, [4, 32, 32, 3]);
  const after = tf.tidy(() => state.model.forward(x, false).logits.dataSync());
  assertClose(after, fx.evalLogitsAfterSgd.flat(), 1e-3, 'eval logits after SGD');
  x.dispose();
  state.dispose();
});
