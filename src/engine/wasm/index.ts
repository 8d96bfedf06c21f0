/**
 * Fast kernels for @tensorflow/tfjs-backend-wasm (single-threaded training in Node).
 * Call registerWasmKernels() after
 * `require('@tensorflow/tfjs-backend-wasm'); await tf.setBackend('wasm'); await tf.ready()`.
 *
 * - Conv2D / Conv2DBackpropInput / Conv2DBackpropFilter: generated SIMD kernels (conv.ts); the
 *   stride-1 pad-1 3x3 convolutions by Winograd F(4x4,3x3) by default (winograd.ts,
 *   winograd-dw.ts; setConvRoute / WS_CONV_ROUTE choose the route).
 * - Fused batch norm (training) forward/backward, ReLU (+grad), option-A shortcut (+grad) under
 *   the kernel names exported here; src/model/layers.ts uses them when they are registered for
 *   the active backend (see fused.ts); batch norm + ReLU, residual add + ReLU and the SGD update
 *   in one pass each (fused-step.ts); batch norm (+ ReLU) with running statistics for evaluation
 *   in one pass (fused-infer.ts).
 */
import { getConvRoute, registerConvKernels } from './conv';
import { winogradTile } from './winograd';
import { registerFusedKernels } from './fused';
import { registerStepKernels } from './fused-step';
import { registerInferKernels } from './fused-infer';

export { conv2DBackpropInput, conv2DBackpropFilter } from './conv';
export {
  BN_TRAIN, BN_TRAIN_GRAD, RELU, RELU_GRAD, SHORTCUT_A, SHORTCUT_A_GRAD,
} from './fused';
export { ADD_RELU, BN_TRAIN_RELU, SGD_UPDATE } from './fused-step';
export { BN_INFER } from './fused-infer';

/** Registers the fast wasm kernels (idempotent) and returns the names of the kernels registered. */
export function registerWasmKernels(): string[] {
  return [...registerConvKernels(), ...registerFusedKernels(), ...registerStepKernels(), ...registerInferKernels()];
}

/**
 * The route of the stride-1 3x3 convolutions, recorded with every wasm run since each rounds
 * differently: 'winograd F(4x4,3x3)', 'winograd F(2x2,3x3)', 'direct SIMD' or 'XNNPACK'.
 */
export function convolutionRoute(): string {
  const r = getConvRoute();
  if (r === 'winograd') return `winograd F(${winogradTile()}x${winogradTile()},3x3)`;
  return r === 'simd' ? 'direct SIMD' : 'XNNPACK';
}
