/**
 * More fused kernels of the training step on the wasm backend, each computing exactly (bit for
 * bit) what the chain of stock tfjs ops it replaces computes, in fewer passes and kernel calls:
 *
 *  - BN_TRAIN_RELU {x, gamma, beta} attrs {epsilon} -> [y = relu(batchnorm(x)), mean, variance]:
 *    the batch norm of fused.ts with the ReLU applied in its affine pass (one pass instead of two);
 *    its gradient is BN_TRAIN_GRAD with dy masked by y > 0 (the ReLU's gradient) inside its passes.
 *  - ADD_RELU {a, b} -> y = relu(a + b): a residual block's add of the shortcut and its ReLU in one
 *    pass; gradient dy * (y > 0) for both inputs.
 *  - SGD_UPDATE {p, v, g} attrs {learningRate, momentum, weightDecay} -> [p', v'] with
 *    v' = momentum * v + (g + weightDecay * p), p' = p - learningRate * v' (torch.optim.SGD,
 *    dampening 0, src/train/sgd.ts), one pass per variable instead of 5-7 tfjs ops; every
 *    operation rounded to float32 in the same order as the ops (Math.fround after each: a float32
 *    sum or product computed in float64 and rounded once is the correctly rounded float32 result).
 *
 * registerStepKernels() registers them and their gradients; src/model/layers.ts and
 * src/train/sgd.ts use them when registered for the active backend.
 */
import * as tf from '@tensorflow/tfjs';
import { TensorInfo, WasmBackendLike, alloc, f32, offsetOf, sizeOf, wasmKernel } from './heap';
import { runtimeFor } from './runtime';
import { BN_TRAIN, BN_TRAIN_GRAD, RELU_GRAD } from './fused';

export const BN_TRAIN_RELU = 'ResNetBatchNormTrainRelu';
export const ADD_RELU = 'ResNetAddRelu';
export const SGD_UPDATE = 'ResNetSgdUpdate';

interface Args { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> }

function bnTrainRelu(args: Args): TensorInfo[] {
  return wasmKernel(BN_TRAIN)({ ...args, attrs: { ...args.attrs, relu: true } }) as TensorInfo[];
}

function addRelu(args: Args): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { a, b } = args.inputs;
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${ADD_RELU}: shapes differ (${a.shape} and ${b.shape}); no broadcasting`);
  }
  const y = alloc(backend, a.shape.slice());
  const n = sizeOf(a.shape);
  const n16 = Math.floor(n / 16);
  if (n16 > 0) runtimeFor(backend).simd.addRelu(offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, y), n16);
  const av = f32(backend, a);
  const bv = f32(backend, b);
  const yv = f32(backend, y);
  for (let i = n16 * 16; i < n; i++) {
    const s = Math.fround(av[i] + bv[i]);
    yv[i] = s < 0 ? 0 : s;
  }
  return y;
}

function sgdUpdate(args: Args): TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const { p, v, g } = args.inputs;
  const n = sizeOf(p.shape);
  if (sizeOf(v.shape) !== n || sizeOf(g.shape) !== n) throw new Error(`${SGD_UPDATE}: p, v and g must have the same size`);
  const lr = Math.fround(Number(args.attrs?.learningRate));
  const mu = Math.fround(Number(args.attrs?.momentum));
  const wdRaw = Number(args.attrs?.weightDecay);
  const wd = Math.fround(wdRaw);
  const pOut = alloc(backend, p.shape.slice());
  const vOut = alloc(backend, v.shape.slice());
  const pv = f32(backend, p);
  const vv = f32(backend, v);
  const gv = f32(backend, g);
  const po = f32(backend, pOut);
  const vo = f32(backend, vOut);
  const fr = Math.fround;
  if (wdRaw > 0) {
    for (let i = 0; i < n; i++) {
      const gd = fr(gv[i] + fr(wd * pv[i]));
      const vn = fr(fr(mu * vv[i]) + gd);
      vo[i] = vn;
      po[i] = fr(pv[i] - fr(lr * vn));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const vn = fr(fr(mu * vv[i]) + gv[i]);
      vo[i] = vn;
      po[i] = fr(pv[i] - fr(lr * vn));
    }
  }
  return [pOut, vOut];
}

const KERNELS: [string, (a: Args) => TensorInfo | TensorInfo[]][] = [
  [BN_TRAIN_RELU, bnTrainRelu], [ADD_RELU, addRelu], [SGD_UPDATE, sgdUpdate],
];

let gradientsRegistered = false;

function registerGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  tf.registerGradient({
    kernelName: BN_TRAIN_RELU,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      const [x, gamma, y, mean, variance] = saved;
      // the ReLU's gradient (dy masked by y > 0) folded into the batch-norm backward's two passes
      const [dx, dg, db] = tf.engine().runKernel(
        BN_TRAIN_GRAD, { dy, x, gamma, mean, variance, y }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      return { x: () => dx, gamma: () => dg, beta: () => db };
    },
  });
  tf.registerGradient({
    kernelName: ADD_RELU,
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved;
      const dx = tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, y }) as tf.Tensor;
      // the same values for both inputs; the second a no-copy Identity (fused.ts) so that each has its own tensor
      return { a: () => dx, b: () => tf.clone(dx) };
    },
  });
}

/** Registers BN_TRAIN_RELU, ADD_RELU and SGD_UPDATE on 'wasm' and their gradients (idempotent); returns their names. */
export function registerStepKernels(): string[] {
  for (const [name, fn] of KERNELS) {
    if (tf.getKernel(name, 'wasm') == null) {
      tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: fn as unknown as tf.KernelFunc });
    }
  }
  registerGradients();
  return KERNELS.map(([name]) => name);
}
