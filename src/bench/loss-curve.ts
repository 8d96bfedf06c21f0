/**
 * The training loss of the first STEPS iterations of one seeded ResNet-20 run on real CIFAR-10
 * batches (data_batch_1.bin, random crop + flip, SGD momentum 0.9, weight decay 1e-4, constant
 * learning rate), with the engine named by --backend. Two engines given the same seed see the same
 * batches and start from the same weights, so their curves differ only by the rounding of their
 * kernels (test/onednn.test.ts compares oneDNN's against the direct wasm kernels').
 *
 *   node dist/bench/loss-curve.js --backend wasm|onednn [--steps 200] [--batch 32] [--seed 1] [--lr 0.05]
 *     [--conv-route simd|xnnpack|winograd] [--winograd-m 2|4]   (wasm: the direct SIMD kernels, XNNPACK's
 *     summation order, or Winograd F(m x m, 3 x 3) for the stride-1 3x3 convolutions; default: the
 *     engine's default route, src/engine/wasm/conv.ts)
 *
 * Prints one JSON line: { backend, steps, batch, seconds, peakRssMB, memory: [{ step, rssMB, heapMB,
 * tensors }] every 50 steps, losses: number[] (nats) }.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectEngine, type BackendChoice } from '../engine/engine';
import { readCifar10File } from '../data/cifar10';
import { makeBatch } from '../data/augment';
import { createRng } from '../data/random';
import { createTrainState, trainStep } from '../train/step';
import { findDataFile } from './run';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'auto' }, steps: { type: 'string', default: '200' },
      batch: { type: 'string', default: '32' }, seed: { type: 'string', default: '1' }, lr: { type: 'string', default: '0.05' },
      data: { type: 'string' }, 'conv-route': { type: 'string' }, 'winograd-m': { type: 'string' },
    },
  });
  const steps = Number(values.steps);
  const batch = Number(values.batch);
  const seed = Number(values.seed);
  const lr = Number(values.lr);
  const engine = await selectEngine({ backend: values.backend as BackendChoice });
  const route = values['conv-route'];
  if (route !== undefined) {
    // wasm: the direct SIMD kernels, XNNPACK's summation order (the spread that rounding alone
    // gives), or Winograd F(m x m, 3 x 3)
    if (!['simd', 'xnnpack', 'winograd'].includes(route)) throw new Error(`--conv-route: '${route}' is not simd, xnnpack or winograd`);
    const conv = require('../engine/wasm/conv') as typeof import('../engine/wasm/conv');
    const wino = require('../engine/wasm/winograd') as typeof import('../engine/wasm/winograd');
    conv.setConvRoute(route as 'simd' | 'xnnpack' | 'winograd');
    conv.setFilterGradRoute(route === 'xnnpack' ? 'xnnpack' : 'simd');
    if (values['winograd-m'] !== undefined) wino.setWinogradTile(values['winograd-m'] === '4' ? 4 : 2);
  }
  const raw = readCifar10File(findDataFile(values.data));
  const state = createTrainState({ depth: 20, seed, momentum: 0.9, weightDecay: 1e-4 });
  const rng = createRng(seed);
  const buffer = new Float32Array(batch * 3072);
  const indices = new Int32Array(batch);
  const losses: number[] = [];
  const memory: { step: number; rssMB: number; heapMB: number; tensors: number }[] = [];
  const mb = (b: number) => Math.round(b / 1048576);
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < batch; i++) indices[i] = (s * batch + i) % raw.count;
    const b = makeBatch(raw, indices, rng, buffer);
    losses.push(trainStep(state, b.images, b.labels, lr).loss);
    if ((s + 1) % 50 === 0) memory.push({ step: s + 1, rssMB: mb(process.memoryUsage().rss), heapMB: mb(process.memoryUsage().heapUsed), tensors: tf.memory().numTensors });
  }
  const seconds = (performance.now() - t0) / 1000;
  state.dispose();
  console.log(JSON.stringify({ backend: engine.backend, steps, batch, seconds, peakRssMB: mb(process.resourceUsage().maxRSS * 1024), memory, losses }));
}

main().catch((e) => {
  console.error(`loss-curve: ${(e as Error).message}`);
  process.exit(1);
});
