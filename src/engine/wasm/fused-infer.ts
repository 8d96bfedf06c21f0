/**
 * Batch norm in inference mode (running statistics), optionally with the ReLU that follows it, as
 * one pass of generated SIMD code on the wasm backend:
 *
 *  - BN_INFER {x, mean, variance, gamma, beta} attrs {epsilon, relu?} -> y, with per element
 *    y = (x - mean[c]) * gamma[c] / sqrt(variance[c] + epsilon) + beta[c], relu: max(y, 0).
 *
 * It computes exactly (bit for bit) what tf.batchNorm (tfjs-backend-wasm 4.22's FusedBatchNorm kernel)
 * and then RELU compute: as that kernel's compiled code does (read with wabt's wasm2wat), the square
 * root once per channel in float32, t = (x - mean) * gamma in float32, then t / sqrt + beta in float64,
 * rounded once to float32; but without its four modulo index updates per element: the evaluation after
 * every epoch (15,000 images in the study) spent more time in that kernel than in its convolutions.
 * Inference only: it has no gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { TensorInfo, WasmBackendLike, alloc, f32, offsetOf, sizeOf } from './heap';
import { runtimeFor, scratchF32, scratchF64 } from './runtime';

export const BN_INFER = 'ResNetBatchNormInfer';

const PARAMS = 32768; // [mean f32 | gamma f32 | sqrt f64 | beta f64] (24C bytes) in the runtime's scratch area (fused.ts uses the same offset, never at once)
const MAX_SIMD_C = 1024;

interface Args { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> }

function bnInfer(args: Args): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x, mean, variance, gamma, beta } = args.inputs;
  const c = x.shape[x.shape.length - 1];
  for (const [name, t] of [['mean', mean], ['variance', variance], ['gamma', gamma], ['beta', beta]] as const) {
    if (sizeOf(t.shape) !== c) throw new Error(`${BN_INFER}: ${name} has ${sizeOf(t.shape)} values for ${c} channels`);
  }
  const relu = args.attrs?.relu === true;
  const eps = Math.fround(Number(args.attrs?.epsilon));
  const fr = Math.fround;
  const mv = f32(backend, mean);
  const vv = f32(backend, variance);
  const gv = f32(backend, gamma);
  const bv = f32(backend, beta);
  const m = Array.from(mv);
  const s = Array.from(gv);
  // sqrt of a float32 in float64, rounded once to float32: the correctly rounded float32 square root
  const n = Array.from(vv, (v) => fr(Math.sqrt(fr(v + eps))));
  const o = Array.from(bv);
  const y = alloc(backend, x.shape.slice());
  const rows = sizeOf(x.shape) / c;
  if (c % 4 === 0 && c <= MAX_SIMD_C) {
    const rt = runtimeFor(backend);
    scratchF32(backend, rt, PARAMS, 2 * c).set([...m, ...s]);
    scratchF64(backend, rt, PARAMS + 8 * c, 2 * c).set([...n, ...o]);
    rt.simd.bnInfer(c, relu, offsetOf(backend, x), offsetOf(backend, y), rows, rt.scratch + PARAMS);
  } else {
    const xv = f32(backend, x);
    const yv = f32(backend, y);
    for (let i = 0; i < rows * c; i += c) {
      for (let k = 0; k < c; k++) {
        const v = fr(fr(fr(xv[i + k] - m[k]) * s[k]) / n[k] + o[k]);
        yv[i + k] = relu && v < 0 ? 0 : v;
      }
    }
  }
  return y;
}

/** Registers BN_INFER on 'wasm' (idempotent); returns its name. */
export function registerInferKernels(): string[] {
  if (tf.getKernel(BN_INFER, 'wasm') == null) {
    tf.registerKernel({ kernelName: BN_INFER, backendName: 'wasm', kernelFunc: bnInfer as unknown as tf.KernelFunc });
  }
  return [BN_INFER];
}
