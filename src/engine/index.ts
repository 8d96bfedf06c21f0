/**
 * The compute engine: tfjs backend selection (engine.ts) and the workspace's wasm kernels
 * (wasm/). The model (src/model) and training (src/train) depend on this module, never the
 * reverse.
 */
export * from './engine';
export { registerWasmKernels } from './wasm';
export * from './collective';
