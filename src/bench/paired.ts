/**
 * `npm run fidelity:paired`: the workspace and PyTorch trainers given the SAME initial weights and
 * the SAME batches (the workspace's shuffling and augmentation of data_batch_1.bin), step by step,
 * so that seed noise drops out of the comparison: the first losses agree to float32 rounding, then
 * the two trajectories separate chaotically (as two engines' do), but the loss they reach stays the
 * same when the update is the same method. PyTorch side: scripts/fidelity_paired.py (Debian
 * python3-torch, akamaster's ResNet-20 from scripts/pytorch_reference.py, torch.optim.SGD).
 *
 *   node dist/bench/paired.js [--seed 0] [--steps 200] [--batch 128] [--lr 0.1] [--data FILE] [--python PATH]
 *
 * Prints the mean loss of both sides per window of iterations, and as its last line one JSON object:
 * { seed, steps, batch, lr, workspace: number[], pytorch: number[] (losses, nats), windows: [{ from, to,
 * workspace, pytorch, difference }] }.
 * @throws Error (exit 1, one line) when the PyTorch side fails or the data file is missing
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectEngine } from '../engine/engine';
import { readCifar10File } from '../data/cifar10';
import { CIFAR10_MEAN, CIFAR10_STD, makeBatch } from '../data/augment';
import { createRng } from '../data/random';
import { PROJECT_ROOT } from '../data/locate';
import { createTrainState, trainStep } from '../train/step';
import { sampleMean } from '../analysis/stats/moments';
import { findDataFile } from './run';

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      seed: { type: 'string', default: '0' }, steps: { type: 'string', default: '200' }, batch: { type: 'string', default: '128' },
      lr: { type: 'string', default: '0.1' }, data: { type: 'string' }, python: { type: 'string', default: '/usr/bin/python3' },
    },
  });
  const [seed, steps, batch, lr] = [Number(v.seed), Number(v.steps), Number(v.batch), Number(v.lr)];
  await selectEngine({ backend: 'auto' });
  const raw = readCifar10File(findDataFile(v.data));
  const state = createTrainState({ depth: 20, seed, momentum: 0.9, weightDecay: 1e-4 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-paired-'));
  try {
    // the initial weights in PyTorch's layout and parameter order (conv [out, in, kh, kw], Linear [out, in])
    const init = state.model.trainable.map((x) => tf.tidy(() => {
      const t = x.shape.length === 4 ? tf.transpose(x, [3, 2, 0, 1]) : x.shape.length === 2 ? tf.transpose(x) : x;
      return { shape: t.shape, values: Array.from(t.dataSync()) };
    }));
    fs.writeFileSync(path.join(dir, 'init.json'), JSON.stringify(init));
    const order = createRng(seed * 2 + 1);
    const augment = createRng(seed * 2 + 2);
    const images = Buffer.alloc(steps * batch * 3072);
    const labels = Buffer.alloc(steps * batch);
    const workspace: number[] = [];
    for (let s = 0; s < steps; s++) {
      const b = makeBatch(raw, Int32Array.from({ length: batch }, () => order.int(raw.count)), augment);
      // the augmented batch as bytes (NHWC): the normalisation inverted and rounded, exact
      for (let i = 0; i < b.images.length; i++) images[s * batch * 3072 + i] = Math.round((b.images[i] * CIFAR10_STD[i % 3] + CIFAR10_MEAN[i % 3]) * 255);
      labels.set(b.labels, s * batch);
      workspace.push(trainStep(state, b.images, b.labels, lr).loss);
    }
    state.dispose();
    fs.writeFileSync(path.join(dir, 'images.u8'), images);
    fs.writeFileSync(path.join(dir, 'labels.u8'), labels);
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE; delete env.OPENBLAS_L2_SIZE;
    const r = spawnSync(v.python!, [path.join(PROJECT_ROOT, 'scripts', 'fidelity_paired.py'), dir, String(steps), String(batch), String(lr)], { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`PyTorch side (${v.python} scripts/fidelity_paired.py) exited ${r.status}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    const pytorch = JSON.parse(r.stdout) as number[];
    const cuts = [0, 1, 10, 50, 100, 150, 200, 300, 500, 1000].filter((c) => c < steps).concat([steps]);
    const windows = cuts.slice(1).map((to, i) => {
      const from = cuts[i];
      const w = sampleMean(workspace.slice(from, to));
      const p = sampleMean(pytorch.slice(from, to));
      return { from: from + 1, to, workspace: w, pytorch: p, difference: w - p };
    });
    console.log(`paired: seed ${seed}, ${steps} steps of batch ${batch} at learning rate ${lr}, the same initial weights and batches on both sides`);
    console.log('iterations | workspace mean loss | PyTorch mean loss | difference');
    for (const w of windows) console.log(`${`${w.from}-${w.to}`.padStart(10)} | ${w.workspace.toFixed(4)} | ${w.pytorch.toFixed(4)} | ${w.difference >= 0 ? '+' : ''}${w.difference.toFixed(4)}`);
    console.log(JSON.stringify({ seed, steps, batch, lr, workspace, pytorch, windows }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`paired: ${e.message}`);
  process.exit(1);
});
