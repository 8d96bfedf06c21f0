/**
 * ResNet for CIFAR-10 (He et al. 2015, "Deep Residual Learning for Image Recognition", §4.2), depth 6n+2:
 * 3x3 conv with 16 filters, three stages of n basic blocks with 16, 32, 64 filters (stride 2 on
 * entering stages 2 and 3), global average pooling, dense layer to 10 classes. Convolutions have no
 * bias and are followed by batch norm; ReLU; He-normal initialisation; option A (parameter-free)
 * shortcuts. Same structure as the reference PyTorch trainer akamaster/pytorch_resnet_cifar10
 * (resnet.py, option 'A'); ResNet-20 has 269,722 trainable parameters.
 *
 * Batch norm: momentum 0.1 in PyTorch's convention (running = 0.9 * running + 0.1 * batch, i.e.
 * Keras momentum 0.9) and epsilon 1e-5, PyTorch's defaults, which the reference trainer and fastai
 * used; the running variance is updated with the unbiased batch variance as PyTorch does.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng, deriveSeed, type Rng } from '../data/random';
import { addRelu, batchNormInfer, batchNormReluInfer, batchNormReluTrain, batchNormTrain, conv2d, globalAveragePool, shortcutA } from './layers';

export interface ResNetOptions {
  /** Depth 6n+2: 20, 32, 44, 56, 110. */
  depth: number;
  /** Seed of the initial weights. */
  seed: number;
  numClasses?: number;
  /** PyTorch-convention batch-norm momentum (weight of the new batch statistic). Default 0.1. */
  bnMomentum?: number;
  /** Batch-norm epsilon. Default 1e-5. */
  bnEpsilon?: number;
}

interface BatchNormParams {
  gamma: tf.Variable<tf.Rank.R1>;
  beta: tf.Variable<tf.Rank.R1>;
  movingMean: tf.Variable<tf.Rank.R1>;
  movingVariance: tf.Variable<tf.Rank.R1>;
}

interface Block {
  stride: 1 | 2;
  outChannels: number;
  conv1: tf.Variable<tf.Rank.R4>;
  bn1: BatchNormParams;
  conv2: tf.Variable<tf.Rank.R4>;
  bn2: BatchNormParams;
}

/** Per-layer batch statistics of a training forward pass (for the running-statistics update). */
export interface BatchStatistics {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  /** Number of values averaged per channel (N*H*W). */
  count: number;
}

/** A CIFAR ResNet: its variables and forward pass. */
export interface ResNet {
  depth: number;
  /** Trainable variables in a fixed order (conv kernels, batch-norm gamma/beta, dense kernel and bias). */
  trainable: tf.Variable[];
  /** Non-trainable batch-norm running statistics. */
  runningStatistics: tf.Variable[];
  bnMomentum: number;
  bnEpsilon: number;
  /**
   * Forward pass.
   * @param x images [N, 32, 32, 3] float32, normalised
   * @param training true: batch statistics (returned in `statistics`); false: running statistics
   * @returns logits [N, numClasses]
   */
  forward(x: tf.Tensor4D, training: boolean): { logits: tf.Tensor2D; statistics: BatchStatistics[] };
  /** Moves the running statistics towards the batch statistics of a training pass (PyTorch rule). */
  updateRunningStatistics(statistics: BatchStatistics[]): void;
  /** Number of trainable parameters. */
  parameterCount(): number;
  dispose(): void;
}

let modelCounter = 0;

function heNormal(rng: Rng, shape: number[], fanIn: number): Float32Array {
  const std = Math.sqrt(2 / fanIn);
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
  return out;
}

/**
 * Builds a CIFAR ResNet with seeded He-normal (kaiming_normal_, fan-in, gain sqrt(2)) conv and dense
 * kernels, dense bias uniform in ±1/sqrt(64) (PyTorch's Linear default), gamma 1, beta 0.
 * @throws RangeError when depth is not 6n+2 with n >= 1
 */
export function createResNet(options: ResNetOptions): ResNet {
  const { depth, seed } = options;
  const numClasses = options.numClasses ?? 10;
  const bnMomentum = options.bnMomentum ?? 0.1;
  const bnEpsilon = options.bnEpsilon ?? 1e-5;
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    throw new RangeError(`depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110), got ${depth}`);
  }
  const n = (depth - 2) / 6;
  const rng = createRng(deriveSeed(seed, 'weights'));
  const trainable: tf.Variable[] = [];
  const runningStatistics: tf.Variable[] = [];
  let counter = 0;
  const prefix = `resnet${depth}_m${modelCounter++}`;
  const convVar = (k: number, cin: number, cout: number) => {
    const v = tf.variable(tf.tensor4d(heNormal(rng, [k, k, cin, cout], k * k * cin), [k, k, cin, cout]), true, `${prefix}_${counter++}_conv`);
    trainable.push(v);
    return v as tf.Variable<tf.Rank.R4>;
  };
  const bn = (c: number): BatchNormParams => {
    const id = `${prefix}_${counter++}_bn`;
    const p = {
      gamma: tf.variable(tf.ones([c]), true, `${id}_gamma`) as tf.Variable<tf.Rank.R1>,
      beta: tf.variable(tf.zeros([c]), true, `${id}_beta`) as tf.Variable<tf.Rank.R1>,
      movingMean: tf.variable(tf.zeros([c]), false, `${id}_mean`) as tf.Variable<tf.Rank.R1>,
      movingVariance: tf.variable(tf.ones([c]), false, `${id}_var`) as tf.Variable<tf.Rank.R1>,
    };
    trainable.push(p.gamma, p.beta);
    runningStatistics.push(p.movingMean, p.movingVariance);
    return p;
  };

  const stemConv = convVar(3, 3, 16);
  const stemBn = bn(16);
  const blocks: Block[] = [];
  let inChannels = 16;
  [16, 32, 64].forEach((outChannels, stage) => {
    for (let b = 0; b < n; b++) {
      const stride: 1 | 2 = stage > 0 && b === 0 ? 2 : 1;
      const conv1 = convVar(3, inChannels, outChannels);
      const bn1 = bn(outChannels);
      const conv2 = convVar(3, outChannels, outChannels);
      const bn2 = bn(outChannels);
      blocks.push({ stride, outChannels, conv1, bn1, conv2, bn2 });
      inChannels = outChannels;
    }
  });
  const denseKernel = tf.variable(tf.tensor2d(heNormal(rng, [64, numClasses], 64), [64, numClasses]), true, `${prefix}_dense_kernel`);
  const bound = 1 / Math.sqrt(64);
  const biasValues = new Float32Array(numClasses).map(() => (rng.next() * 2 - 1) * bound);
  const denseBias = tf.variable(tf.tensor1d(biasValues), true, `${prefix}_dense_bias`);
  trainable.push(denseKernel, denseBias);

  const forward = (x: tf.Tensor4D, training: boolean) => {
    const statistics: BatchStatistics[] = [];
    const norm = (h: tf.Tensor4D, p: BatchNormParams): tf.Tensor4D => {
      if (!training) return batchNormInfer(h, p.gamma, p.beta, p.movingMean, p.movingVariance, bnEpsilon);
      const r = batchNormTrain(h, p.gamma, p.beta, bnEpsilon);
      statistics.push({ mean: r.mean, variance: r.variance, count: h.shape[0] * h.shape[1] * h.shape[2] });
      return r.y;
    };
    // batch norm + ReLU and the residual add + ReLU: one fused pass each on the wasm engines (layers.ts)
    const normRelu = (h: tf.Tensor4D, p: BatchNormParams): tf.Tensor4D => {
      if (!training) return batchNormReluInfer(h, p.gamma, p.beta, p.movingMean, p.movingVariance, bnEpsilon);
      const r = batchNormReluTrain(h, p.gamma, p.beta, bnEpsilon);
      statistics.push({ mean: r.mean, variance: r.variance, count: h.shape[0] * h.shape[1] * h.shape[2] });
      return r.y;
    };
    let h = normRelu(conv2d(x, stemConv, 1), stemBn);
    for (const blk of blocks) {
      const a = normRelu(conv2d(h, blk.conv1, blk.stride), blk.bn1);
      const b = norm(conv2d(a, blk.conv2, 1), blk.bn2);
      h = addRelu(b, shortcutA(h, blk.outChannels, blk.stride));
    }
    const pooled = globalAveragePool(h);
    const logits = tf.add(tf.matMul(pooled, denseKernel as tf.Variable<tf.Rank.R2>), denseBias) as tf.Tensor2D;
    return { logits, statistics };
  };

  const bnLayers: BatchNormParams[] = [stemBn, ...blocks.flatMap((b) => [b.bn1, b.bn2])];
  const updateRunningStatistics = (statistics: BatchStatistics[]) => {
    if (statistics.length !== bnLayers.length) throw new Error(`expected ${bnLayers.length} batch statistics, got ${statistics.length}`);
    tf.tidy(() => {
      statistics.forEach((s, i) => {
        const p = bnLayers[i];
        const unbiased = s.count > 1 ? s.count / (s.count - 1) : 1;
        p.movingMean.assign(tf.add(tf.mul(p.movingMean, 1 - bnMomentum), tf.mul(s.mean, bnMomentum)));
        p.movingVariance.assign(tf.add(tf.mul(p.movingVariance, 1 - bnMomentum), tf.mul(s.variance, bnMomentum * unbiased)));
      });
    });
  };

  return {
    depth,
    trainable,
    runningStatistics,
    bnMomentum,
    bnEpsilon,
    forward,
    updateRunningStatistics,
    parameterCount: () => trainable.reduce((s, v) => s + v.size, 0),
    dispose: () => [...trainable, ...runningStatistics].forEach((v) => v.dispose()),
  };
}
