/**
 * Layer primitives of the CIFAR ResNet (He et al. 2015, §4.2), written as plain functions
 * on tfjs tensors in NHWC layout. Kept in one file so that backend-specific fast paths
 * (see src/engine/wasm/) can replace their internals without touching the model.
 */
import * as tf from '@tensorflow/tfjs';
import { BN_TRAIN, RELU, SHORTCUT_A } from '../engine/wasm/fused';
import { ADD_RELU, BN_TRAIN_RELU } from '../engine/wasm/fused-step';
import { BN_INFER } from '../engine/wasm/fused-infer';

/**
 * True when the fused kernel `name` is registered for the active backend (registerWasmKernels()
 * on 'wasm'); the layers then run one fused kernel (with a registered one-kernel gradient) instead
 * of the chain of plain tfjs ops below, with the same math.
 */
function fused(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}

/**
 * 2-D convolution without bias, zero padding (k-1)/2 on every side, as PyTorch's
 * Conv2d(kernel_size=k, padding=(k-1)/2) in the reference trainer. This is NOT TensorFlow's 'same':
 * for a stride-2 3x3 conv on an even input 'same' pads only bottom/right, which shifts every window
 * by one pixel against PyTorch and against the option-A shortcut's x[:, ::2, ::2] (test/model.test.ts
 * checks the logits against PyTorch).
 * @param x input, shape [N, H, W, Cin], float32
 * @param w filter, shape [kH, kW, Cin, Cout]
 * @param stride 1 or 2
 * @returns shape [N, ceil(H/stride), ceil(W/stride), Cout]
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride: 1 | 2): tf.Tensor4D {
  return tf.conv2d(x, w, stride, (w.shape[0] - 1) / 2);
}

/** Batch-norm hyper-parameters. */
export interface BatchNormOptions {
  /** Weight of the NEW batch statistic in the running average: PyTorch's momentum 0.1 (Keras momentum 0.9). */
  momentum: number;
  /** Added to the variance before the square root: 1e-5 as PyTorch's default. */
  epsilon: number;
}

/** The fused batch-norm kernel `name` (BN_TRAIN or BN_TRAIN_RELU): y, mean, biased variance. */
function runBatchNorm(name: string, x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number) {
  const [y, mean, variance] = tf.engine().runKernel(name, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
  return { y: y as tf.Tensor4D, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/**
 * Batch normalisation over N, H, W (Ioffe & Szegedy 2015) in training mode: normalises with the
 * batch mean and biased batch variance and returns them so that the caller can update the
 * running statistics (PyTorch updates the running variance with the UNBIASED batch variance).
 * @param x shape [N, H, W, C]
 * @param gamma scale, shape [C]
 * @param beta shift, shape [C]
 * @returns y (shape of x), mean [C], variance [C] (biased, divisor N*H*W)
 */
export function batchNormTrain(
  x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  if (fused(BN_TRAIN)) return runBatchNorm(BN_TRAIN, x, gamma, beta, epsilon);
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const y = tf.batchNorm(x, mean, variance, beta, gamma, epsilon) as tf.Tensor4D;
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/**
 * relu(batchNormTrain(x)): one fused kernel (normalise, scale, shift and ReLU in one pass) when
 * registered for the active backend, else the two steps; the same values either way.
 * @param x shape [N, H, W, C]; gamma, beta shape [C]
 * @returns y = relu(batch norm of x) (shape of x), the batch mean [C] and biased variance [C]
 */
export function batchNormReluTrain(
  x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  if (fused(BN_TRAIN_RELU)) return runBatchNorm(BN_TRAIN_RELU, x, gamma, beta, epsilon);
  const r = batchNormTrain(x, gamma, beta, epsilon);
  return { ...r, y: relu(r.y) };
}

/**
 * relu(a + b) of two tensors of the same shape (a residual block's output): one fused pass when
 * registered for the active backend, else add then ReLU; the same values either way.
 */
export function addRelu<T extends tf.Tensor>(a: T, b: T): T {
  if (a.dtype === 'float32' && b.dtype === 'float32' && fused(ADD_RELU)) return tf.engine().runKernel(ADD_RELU, { a, b }) as T;
  return relu(tf.add(a, b) as T);
}

/**
 * Batch normalisation in inference mode with running statistics: y = beta + (x - mean) * gamma /
 * sqrt(variance + epsilon) per channel (tf.batchNorm), one fused pass when registered for the active
 * backend (the same float32 values).
 * @param x shape [N, H, W, C]; movingMean, movingVariance, gamma, beta shape [C]
 */
export function batchNormInfer(
  x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D,
  movingMean: tf.Tensor1D, movingVariance: tf.Tensor1D, epsilon: number,
): tf.Tensor4D {
  if (fused(BN_INFER)) return runBatchNormInfer(x, gamma, beta, movingMean, movingVariance, epsilon, false);
  return tf.batchNorm(x, movingMean, movingVariance, beta, gamma, epsilon) as tf.Tensor4D;
}

/**
 * relu(batchNormInfer(x)): one fused pass when registered for the active backend, else the two
 * steps; the same values either way.
 * @param x shape [N, H, W, C]; movingMean, movingVariance, gamma, beta shape [C]
 */
export function batchNormReluInfer(
  x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D,
  movingMean: tf.Tensor1D, movingVariance: tf.Tensor1D, epsilon: number,
): tf.Tensor4D {
  if (fused(BN_INFER)) return runBatchNormInfer(x, gamma, beta, movingMean, movingVariance, epsilon, true);
  return relu(batchNormInfer(x, gamma, beta, movingMean, movingVariance, epsilon));
}

function runBatchNormInfer(
  x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, mean: tf.Tensor1D, variance: tf.Tensor1D, epsilon: number, relu: boolean,
): tf.Tensor4D {
  return tf.engine().runKernel(BN_INFER, { x, mean, variance, gamma, beta }, { epsilon, relu }) as tf.Tensor4D;
}

/** Rectified linear unit, elementwise. */
export function relu<T extends tf.Tensor>(x: T): T {
  if (x.dtype === 'float32' && fused(RELU)) return tf.engine().runKernel(RELU, { x }) as T;
  return tf.relu(x);
}

/**
 * Option A shortcut of He et al. 2015 (§4.2): identity, or when the block downsamples,
 * stride-2 spatial subsampling (x[:, ::2, ::2, :]) plus zero-padded extra channels, split evenly
 * before and after the input channels as in the reference PyTorch implementation
 * (akamaster/pytorch_resnet_cifar10, LambdaLayer: F.pad(x[:, :, ::2, ::2], (0,0,0,0,planes//4,planes//4))).
 * @param x shape [N, H, W, Cin]
 * @param outChannels Cout >= Cin
 * @param stride 1 or 2
 * @returns shape [N, H/stride, W/stride, Cout]
 */
export function shortcutA(x: tf.Tensor4D, outChannels: number, stride: 1 | 2): tf.Tensor4D {
  const inChannels = x.shape[3];
  if (stride === 1 && outChannels === inChannels) return x;
  if (fused(SHORTCUT_A)) return tf.engine().runKernel(SHORTCUT_A, { x }, { outChannels, stride }) as tf.Tensor4D;
  const sub = stride === 2
    ? subsample2(x)
    : x;
  const extra = outChannels - inChannels;
  const before = Math.floor(extra / 2);
  return tf.pad(sub, [[0, 0], [0, 0], [0, 0], [before, extra - before]]);
}

/**
 * x[:, ::2, ::2, :] for even H and W, written as reshape + slice because tfjs has no gradient for StridedSlice.
 * @param x shape [N, H, W, C] with H, W even
 */
function subsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const r = tf.reshape(x, [n, h / 2, 2, w / 2, 2, c]);
  return tf.reshape(tf.slice(r, [0, 0, 0, 0, 0, 0], [n, h / 2, 1, w / 2, 1, c]), [n, h / 2, w / 2, c]);
}

/** Global average pooling over H and W: [N, H, W, C] -> [N, C]. */
export function globalAveragePool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}
