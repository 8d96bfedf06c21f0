/**
 * Per-backend state of the fast kernels: the generated SIMD module bound to the wasm backend's
 * memory and a small scratch area on its heap for per-channel parameters and f64 totals.
 */
import { SimdKernels, createSimdKernels } from './simd';
import { WasmBackendLike, heapBuffer } from './heap';

export interface Runtime {
  simd: SimdKernels;
  /** Byte offset of a scratch area of SCRATCH_BYTES bytes (16-byte aligned). */
  scratch: number;
}

export const SCRATCH_BYTES = 1 << 16;

interface MallocModule { _malloc(bytes: number): number; asm?: { memory?: WebAssembly.Memory } }

const runtimes = new WeakMap<object, Runtime>();

export function runtimeFor(backend: WasmBackendLike): Runtime {
  let rt = runtimes.get(backend);
  if (rt === undefined) {
    const mod = backend.wasm as unknown as MallocModule;
    const memory = mod.asm?.memory;
    if (!(memory instanceof WebAssembly.Memory)) {
      throw new Error('wasm kernels: the wasm backend does not expose its WebAssembly.Memory');
    }
    const raw = mod._malloc(SCRATCH_BYTES + 16) >>> 0;
    const scratch = (raw + 15) & ~15;
    rt = { simd: createSimdKernels(memory), scratch };
    runtimes.set(backend, rt);
  }
  return rt;
}

/** f32 / f64 views of the scratch area (take them after any allocation). */
export function scratchF32(backend: WasmBackendLike, rt: Runtime, byteOffset: number, length: number): Float32Array {
  return new Float32Array(heapBuffer(backend), rt.scratch + byteOffset, length);
}
export function scratchF64(backend: WasmBackendLike, rt: Runtime, byteOffset: number, length: number): Float64Array {
  return new Float64Array(heapBuffer(backend), rt.scratch + byteOffset, length);
}
