/**
 * Fused kernels used by src/model/layers.ts on the wasm backend, each one pass (or two) over the
 * data with generated SIMD code instead of the chains of small tfjs ops:
 *
 *  - BN_TRAIN      {x, gamma, beta} attrs {epsilon, relu?} -> [y, mean, variance (biased)]
 *                  (relu: true applies the ReLU in the affine pass; see fused-step.ts BN_TRAIN_RELU)
 *  - BN_TRAIN_GRAD {dy, x, gamma, mean, variance, y?} attrs {epsilon} -> [dx, dgamma, dbeta]
 *                  (y: a following ReLU's output; dy is then taken as y > 0 ? dy : 0, in the same passes)
 *  - RELU {x} -> y;  RELU_GRAD {dy, y} -> dx = y > 0 ? dy : 0
 *  - SHORTCUT_A {x} attrs {outChannels, stride} -> x[:, ::s, ::s, :] zero-padded in channels
 *    (split evenly before / after);  SHORTCUT_A_GRAD {dy} attrs {inShape, stride} -> dx
 *
 * Their gradients are registered (globally, under these kernel names) by registerFusedKernels().
 */
import * as tf from '@tensorflow/tfjs';
import { TensorInfo, WasmBackendLike, alloc, f32, sizeOf } from './heap';
import { runtimeFor, scratchF32, scratchF64 } from './runtime';
import { getCollective } from '../collective';

export const BN_TRAIN = 'ResNetBatchNormTrain';
export const BN_TRAIN_GRAD = 'ResNetBatchNormTrainGrad';
export const RELU = 'ResNetRelu';
export const RELU_GRAD = 'ResNetReluGrad';
export const SHORTCUT_A = 'ResNetShortcutA';
export const SHORTCUT_A_GRAD = 'ResNetShortcutAGrad';

const TOTALS = 0; // f64 [2C]
const SHIFTS = 16384; // f32 [2C]
const PARAMS = 32768; // f32 [3C]
const MAX_SIMD_C = 1024;

interface Args { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> }

function off(backend: WasmBackendLike, t: TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (d === undefined) throw new Error('wasm kernels: tensor data not found');
  return d.memoryOffset;
}

function useSimd(c: number): boolean {
  return c % 4 === 0 && c <= MAX_SIMD_C;
}

/**
 * Per-channel totals over rows of C: s = sum (a - shA), q = sum (a - shA)(b - shB), in float64.
 */
function channelSums(
  backend: WasmBackendLike, a: TensorInfo, b: TensorInfo, shA: Float64Array, shB: Float64Array, mask?: TensorInfo,
): { s: Float64Array; q: Float64Array } {
  const c = a.shape[a.shape.length - 1];
  const m = sizeOf(a.shape) / c;
  const s = new Float64Array(c);
  const q = new Float64Array(c);
  if (useSimd(c)) {
    const rt = runtimeFor(backend);
    scratchF64(backend, rt, TOTALS, 2 * c).fill(0);
    const sh = scratchF32(backend, rt, SHIFTS, 2 * c);
    for (let k = 0; k < c; k++) { sh[k] = shA[k]; sh[c + k] = shB[k]; }
    if (mask) rt.simd.sumsMasked(c, off(backend, a), off(backend, mask), off(backend, b), m, rt.scratch + TOTALS, rt.scratch + SHIFTS);
    else rt.simd.sums(c, off(backend, a), off(backend, b), m, rt.scratch + TOTALS, rt.scratch + SHIFTS);
    const tot = scratchF64(backend, rt, TOTALS, 2 * c);
    for (let k = 0; k < c; k++) { s[k] = tot[k]; q[k] = tot[c + k]; }
  } else {
    const av = f32(backend, a);
    const bv = f32(backend, b);
    const mv = mask ? f32(backend, mask) : null;
    for (let i = 0; i < m * c; i += c) {
      for (let k = 0; k < c; k++) {
        const u = (mv === null || mv[i + k] > 0 ? av[i + k] : 0) - shA[k];
        s[k] += u;
        q[k] += u * (bv[i + k] - shB[k]);
      }
    }
  }
  return { s, q };
}

/** y = x * A[c] + B[c], with `relu` max(., 0). */
function channelAffine(backend: WasmBackendLike, x: TensorInfo, y: TensorInfo, A: Float64Array, B: Float64Array, relu: boolean): void {
  const c = x.shape[x.shape.length - 1];
  const m = sizeOf(x.shape) / c;
  if (useSimd(c)) {
    const rt = runtimeFor(backend);
    const p = scratchF32(backend, rt, PARAMS, 2 * c);
    for (let k = 0; k < c; k++) { p[k] = A[k]; p[c + k] = B[k]; }
    rt.simd.affine(c, relu, off(backend, x), off(backend, y), m, rt.scratch + PARAMS);
  } else {
    const xv = f32(backend, x);
    const yv = f32(backend, y);
    for (let i = 0; i < m * c; i += c) {
      for (let k = 0; k < c; k++) {
        const v = xv[i + k] * A[k] + B[k];
        yv[i + k] = relu && v < 0 ? 0 : v;
      }
    }
  }
}

function bnTrain(args: Args): TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const { x, gamma, beta } = args.inputs;
  const eps = Number(args.attrs?.epsilon ?? 1e-5);
  const c = x.shape[x.shape.length - 1];
  const m = sizeOf(x.shape) / c;
  const y = alloc(backend, x.shape.slice());
  const meanT = alloc(backend, [c]);
  const varT = alloc(backend, [c]);
  // Shift: the mean of the first few rows, so that the sums of squares do not cancel.
  const xv = f32(backend, x);
  const shift = new Float64Array(c);
  const rows = Math.min(m, 16);
  for (let i = 0; i < rows; i++) for (let k = 0; k < c; k++) shift[k] += xv[i * c + k];
  // rounded to float32: the SIMD sums subtract the float32 shift, and mean = shift + sum/m must use the same one
  for (let k = 0; k < c; k++) shift[k] = Math.fround(shift[k] / rows);
  const { s, q } = channelSums(backend, x, x, shift, shift);
  const g = f32(backend, gamma);
  const bt = f32(backend, beta);
  const A = new Float64Array(c);
  const B = new Float64Array(c);
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    const d = s[k] / m;
    mean[k] = shift[k] + d;
    variance[k] = Math.max(q[k] / m - d * d, 0);
  }
  const col = getCollective();
  if (col !== null && col.size > 1) {
    // synchronised batch norm: whole-batch moments from every replica's (M2 = m * biased variance)
    const whole = col.combineMoments({ count: m, mean, m2: variance.map((v) => v * m) });
    for (let k = 0; k < c; k++) {
      mean[k] = whole.mean[k];
      variance[k] = Math.max(whole.m2[k] / whole.count, 0);
    }
  }
  for (let k = 0; k < c; k++) {
    const inv = 1 / Math.sqrt(variance[k] + eps);
    A[k] = g[k] * inv;
    B[k] = bt[k] - mean[k] * A[k];
  }
  channelAffine(backend, x, y, A, B, args.attrs?.relu === true);
  f32(backend, meanT).set(mean);
  f32(backend, varT).set(variance);
  return [y, meanT, varT];
}

function bnTrainGrad(args: Args): TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  // y (optional): the ReLU's output when the batch norm was followed by one (BN_TRAIN_RELU): dy masked by y > 0
  const { dy, x, gamma, mean, variance, y } = args.inputs;
  const eps = Number(args.attrs?.epsilon ?? 1e-5);
  const c = x.shape[x.shape.length - 1];
  const m = sizeOf(x.shape) / c;
  const dx = alloc(backend, x.shape.slice());
  const dg = alloc(backend, [c]);
  const db = alloc(backend, [c]);
  const mv = Float64Array.from(f32(backend, mean));
  const vv = f32(backend, variance);
  const g = f32(backend, gamma);
  const { s, q } = channelSums(backend, dy, x, new Float64Array(c), mv, y);
  // dgamma, dbeta: this replica's share (the trainer sums the gradients); dx: whole-batch totals
  const col = getCollective();
  const whole = col !== null && col.size > 1 ? col.sumTotals(m, s, q) : { count: m, a: s, b: q };
  const M = whole.count;
  const S = whole.a;
  const Q = whole.b;
  const A = new Float64Array(c);
  const B = new Float64Array(c);
  const K = new Float64Array(c);
  const dgv = new Float32Array(c);
  const dbv = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    const inv = 1 / Math.sqrt(vv[k] + eps);
    dbv[k] = s[k];
    dgv[k] = q[k] * inv;
    // dx = gamma*inv*(dy - S/M - (x - mean)*inv*(Q*inv)/M), S, Q, M over the whole batch
    A[k] = g[k] * inv;
    B[k] = -A[k] * inv * inv * Q[k] / M;
    K[k] = -A[k] * S[k] / M - B[k] * mv[k];
  }
  if (useSimd(c)) {
    const rt = runtimeFor(backend);
    const p = scratchF32(backend, rt, PARAMS, 3 * c);
    for (let k = 0; k < c; k++) { p[k] = A[k]; p[c + k] = B[k]; p[2 * c + k] = K[k]; }
    if (y) rt.simd.bnBackwardMasked(c, off(backend, dy), off(backend, y), off(backend, x), off(backend, dx), m, rt.scratch + PARAMS);
    else rt.simd.bnBackward(c, off(backend, dy), off(backend, x), off(backend, dx), m, rt.scratch + PARAMS);
  } else {
    const dyv = f32(backend, dy);
    const xv = f32(backend, x);
    const dxv = f32(backend, dx);
    const yv = y ? f32(backend, y) : null;
    for (let i = 0; i < m * c; i += c) {
      for (let k = 0; k < c; k++) dxv[i + k] = (yv === null || yv[i + k] > 0 ? dyv[i + k] : 0) * A[k] + xv[i + k] * B[k] + K[k];
    }
  }
  f32(backend, dg).set(dgv);
  f32(backend, db).set(dbv);
  return [dx, dg, db];
}

function relu(args: Args): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x } = args.inputs;
  const y = alloc(backend, x.shape.slice());
  const n = sizeOf(x.shape);
  const n16 = Math.floor(n / 16);
  if (n16 > 0) runtimeFor(backend).simd.relu(off(backend, x), off(backend, y), n16);
  const xv = f32(backend, x);
  const yv = f32(backend, y);
  for (let i = n16 * 16; i < n; i++) yv[i] = xv[i] < 0 ? 0 : xv[i];
  return y;
}

function reluGrad(args: Args): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { dy, y } = args.inputs;
  const dx = alloc(backend, y.shape.slice());
  const n = sizeOf(y.shape);
  const n16 = Math.floor(n / 16);
  if (n16 > 0) runtimeFor(backend).simd.reluGrad(off(backend, dy), off(backend, y), off(backend, dx), n16);
  const dyv = f32(backend, dy);
  const yv = f32(backend, y);
  const dxv = f32(backend, dx);
  for (let i = n16 * 16; i < n; i++) dxv[i] = yv[i] > 0 ? dyv[i] : 0;
  return dx;
}

/**
 * Copies between x [N, H, W, Cin] at rows / columns multiple of `stride` and y [N, Ho, Wo, Cout]
 * at channel offset `before`; toY: x -> y, else y -> x.
 */
function strideChannelCopy(
  backend: WasmBackendLike, x: TensorInfo, y: TensorInfo, stride: number, before: number, toY: boolean,
): void {
  const [n, h, w, cin] = x.shape;
  const [, ho, wo, cout] = y.shape;
  if (cin % 16 === 0) {
    const rt = runtimeFor(backend);
    const xo = off(backend, x);
    const yo = off(backend, y);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < ho; i++) {
        const xp = xo + ((b * h + i * stride) * w) * cin * 4;
        const yp = yo + (((b * ho + i) * wo) * cout + before) * 4;
        if (toY) rt.simd.rowCopy(xp, yp, wo, stride * cin * 4, cout * 4, cin / 16);
        else rt.simd.rowCopy(yp, xp, wo, cout * 4, stride * cin * 4, cin / 16);
      }
    }
    return;
  }
  const xv = f32(backend, x);
  const yv = f32(backend, y);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        const xp = ((b * h + i * stride) * w + j * stride) * cin;
        const yp = ((b * ho + i) * wo + j) * cout + before;
        for (let k = 0; k < cin; k++) {
          if (toY) yv[yp + k] = xv[xp + k];
          else xv[xp + k] = yv[yp + k];
        }
      }
    }
  }
}

function shortcutA(args: Args): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x } = args.inputs;
  const cout = Number(args.attrs?.outChannels);
  const stride = Number(args.attrs?.stride);
  const [n, h, w, cin] = x.shape;
  const y = alloc(backend, [n, Math.ceil(h / stride), Math.ceil(w / stride), cout]);
  f32(backend, y).fill(0);
  strideChannelCopy(backend, x, y, stride, Math.floor((cout - cin) / 2), true);
  return y;
}

function shortcutAGrad(args: Args): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { dy } = args.inputs;
  const inShape = args.attrs?.inShape as number[];
  const stride = Number(args.attrs?.stride);
  const dx = alloc(backend, inShape.slice());
  f32(backend, dx).fill(0);
  strideChannelCopy(backend, dx, dy, stride, Math.floor((dy.shape[3] - inShape[3]) / 2), false);
  return dx;
}

/**
 * Identity without a copy: shares the data id and counts a reference (as the cpu and webgl
 * backends do; the stock wasm Identity copies, and the engine clones every tensor it saves for
 * backprop through Identity).
 */
function identity(args: Args): TensorInfo {
  const backend = args.backend as WasmBackendLike & { incRef(dataId: object): void };
  const { x } = args.inputs;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function registerIdentity(): void {
  const k = tf.getKernel('Identity', 'wasm');
  if (k != null && k.kernelFunc === (identity as unknown)) return;
  if (k != null) tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: identity as unknown as tf.KernelFunc });
}

const KERNELS: [string, (a: Args) => TensorInfo | TensorInfo[]][] = [
  [BN_TRAIN, bnTrain], [BN_TRAIN_GRAD, bnTrainGrad], [RELU, relu], [RELU_GRAD, reluGrad],
  [SHORTCUT_A, shortcutA], [SHORTCUT_A_GRAD, shortcutAGrad],
];

let gradientsRegistered = false;

function registerGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  tf.registerGradient({
    kernelName: BN_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      const [x, gamma, mean, variance] = saved;
      const [dx, dg, db] = tf.engine().runKernel(
        BN_TRAIN_GRAD, { dy, x, gamma, mean, variance }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      return { x: () => dx, gamma: () => dg, beta: () => db };
    },
  });
  tf.registerGradient({
    kernelName: RELU,
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved;
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, y }) as tf.Tensor };
    },
  });
  tf.registerGradient({
    kernelName: SHORTCUT_A,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      return {
        x: () => tf.engine().runKernel(
          SHORTCUT_A_GRAD, { dy: dy as tf.Tensor }, { inShape: x.shape, stride: attrs.stride as number }) as tf.Tensor,
      };
    },
  });
}

/** Registers the fused kernels on 'wasm' and their gradients (idempotent); returns their names. */
export function registerFusedKernels(): string[] {
  for (const [name, fn] of KERNELS) {
    if (tf.getKernel(name, 'wasm') == null) {
      tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: fn as unknown as tf.KernelFunc });
    }
  }
  registerIdentity();
  registerGradients();
  return [...KERNELS.map(([name]) => name), 'Identity'];
}
