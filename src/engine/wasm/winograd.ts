/**
 * Winograd convolution F(m x m, 3 x 3) for the wasm backend (Lavin & Gray 2015, "Fast Algorithms
 * for Convolutional Neural Networks", arXiv:1509.09308): the stride-1, pad-1 3x3 convolutions of
 * ResNet-20, forward and input gradient (a stride-1 pad-1 3x3 input gradient is itself such a
 * convolution of dy with the filter flipped spatially and transposed in/out).
 *
 * Multiplications per output pixel and channel pair: 9 direct, 16/4 = 4 with F(2x2) (2.25x fewer),
 * 36/16 = 2.25 with F(4x4) (4x fewer). The tiles are processed in blocks of T (input transform,
 * a*a GEMMs, output transform; see winograd-gen.ts) so that the transformed block stays in L2.
 *
 * Rounding: the transforms add (a few) extra roundings per product; measured against the cpu
 * backend in test/winograd.test.ts (F(2x2): ~1e-6 relative to the largest output, F(4x4): ~1e-5).
 */
import * as tf from '@tensorflow/tfjs';
import {
  TensorInfo, WasmBackendLike, alloc, f32, free, offsetOf, padNHWC,
} from './heap';
import { F2, F4, WinogradMatrices, WinogradSpec, planeBytes, winogradKernels } from './winograd-gen';

/**
 * Output tile size m of F(m x m, 3 x 3): 4 (default: 4x fewer multiplications than direct, measured
 * faster than F(2x2) on every ResNet-20 shape) or 2 (2.25x fewer, ~8x smaller rounding error).
 * WS_WINOGRAD_M=2|4 sets the initial value.
 */
function initialTile(): 2 | 4 {
  const v = process.env.WS_WINOGRAD_M;
  if (v === undefined || v === '' || v === '4') return 4;
  if (v === '2') return 2;
  throw new Error(`WS_WINOGRAD_M: '${v}' is not 2 or 4`);
}
let tileM: 2 | 4 | null = null;
export function setWinogradTile(m: 2 | 4): void { tileM = m; }
export function winogradTile(): 2 | 4 { return (tileM ??= initialTile()); }

/** Convolutions computed by winogradConv since the process started (tests check the routing). */
export const winogradStats = { calls: 0 };

/** Bytes of the V + M scratch of one block of tiles (a*a*T*(C+F)*4): about half an L2. */
let blockBytes = 256 * 1024;
export function setWinogradBlockBytes(b: number): void { blockBytes = b; }

/** GEMM register tile: tiles x (4 * vectors) output channels. */
let gemmTile = { tiles: 2, vectors: 4 };
export function setWinogradGemmTile(tiles: number, vectors: number): void { gemmTile = { tiles, vectors }; }

/**
 * True when the Winograd route applies: 3x3 filter, stride 1, dilation 1, padding 1 on every side
 * and channel counts (reduction and output) multiples of 4.
 */
export function winogradApplies(info: tf.backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return info.filterHeight === 3 && info.filterWidth === 3 && info.strideHeight === 1 && info.strideWidth === 1
    && info.dilationHeight === 1 && info.dilationWidth === 1
    && p.top === 1 && p.bottom === 1 && p.left === 1 && p.right === 1
    && info.inChannels % 4 === 0 && info.outChannels % 4 === 0;
}

/**
 * U[xi][cr][co] = (G g G^T)[xi] of the 3x3 filter g(a, b) = w[a, b, cr, co] (forward) or
 * w[2-a, 2-b, co, cr] (input gradient: flipped and transposed), computed in float64.
 * @param w HWIO filter [3, 3, C, F] (heap view)
 */
export function transformFilter(w: Float32Array, c: number, fch: number, grad: boolean, mats: WinogradMatrices, u: Float32Array): void {
  const { a, G } = mats;
  const cr = grad ? fch : c; // reduction channels
  const co = grad ? c : fch; // output channels
  const g = new Float64Array(9);
  const t = new Float64Array(a * 3);
  for (let i = 0; i < cr; i++) {
    for (let o = 0; o < co; o++) {
      for (let k = 0; k < 9; k++) {
        g[k] = grad ? w[(8 - k) * c * fch + o * fch + i] : w[k * c * fch + i * fch + o];
      }
      for (let r = 0; r < a; r++) {
        for (let q = 0; q < 3; q++) t[r * 3 + q] = G[r][0] * g[q] + G[r][1] * g[3 + q] + G[r][2] * g[6 + q];
      }
      for (let r = 0; r < a; r++) {
        for (let q = 0; q < a; q++) {
          u[((r * a + q) * cr + i) * co + o] = t[r * 3] * G[q][0] + t[r * 3 + 1] * G[q][1] + t[r * 3 + 2] * G[q][2];
        }
      }
    }
  }
}

function memoryOf(backend: WasmBackendLike): WebAssembly.Memory {
  const mem = backend.wasm.asm?.memory;
  if (!(mem instanceof WebAssembly.Memory)) throw new Error('wasm winograd: the wasm backend does not expose its WebAssembly.Memory');
  return mem;
}

/**
 * Stride-1, pad-1 3x3 convolution by Winograd F(m x m, 3 x 3) (m = winogradTile()).
 * @param x input [N, H, W, Cr] (NHWC, on the wasm heap): x for the forward pass, dy for the input gradient
 * @param w filter [3, 3, C, F] (HWIO)
 * @param grad false: y = conv(x, w), Cr = C, output [N, H, W, F]; true: dx = conv^T(dy, w), Cr = F,
 *   output [N, H, W, C]
 * @throws when the channel counts are not multiples of 4 (check winogradApplies first)
 */
export function winogradConv(backend: WasmBackendLike, x: TensorInfo, w: TensorInfo, grad: boolean): TensorInfo {
  const mats = winogradTile() === 4 ? F4 : F2;
  const { m, a } = mats;
  const [n, h, wd, cr] = x.shape;
  const [, , c, fch] = w.shape;
  const co = grad ? c : fch;
  if (cr !== (grad ? fch : c)) throw new Error(`wasm winograd: input has ${cr} channels, filter ${w.shape.join('x')}`);
  if (cr % 4 !== 0 || co % 4 !== 0) throw new Error(`wasm winograd: channels ${cr} -> ${co} are not multiples of 4`);
  const th = Math.ceil(h / m);
  const tw = Math.ceil(wd / m);
  const tiles = n * th * tw;
  const hp = m * th + 2;
  const wp = m * tw + 2;
  const np = gemmTile.tiles;
  const fv = co % (4 * gemmTile.vectors) === 0 ? gemmTile.vectors : co % 8 === 0 && gemmTile.vectors >= 2 ? 2 : 1;
  let T = Math.floor(blockBytes / (a * a * (cr + co) * 4) / np) * np;
  T = Math.max(np, Math.min(T, Math.ceil(tiles / np) * np));
  const spec: WinogradSpec = { mats, c: cr, f: co, hp, wp, tw, tpi: th * tw, T, np, fv };
  const k = winogradKernels(memoryOf(backend), spec);
  winogradStats.calls++;

  const u = alloc(backend, [a * a * cr * co]);
  transformFilter(f32(backend, w), c, fch, grad, mats, f32(backend, u));
  const padded = padNHWC(backend, x, 1, hp - h - 1, 1, wp - wd - 1);
  const exact = m * th === h && m * tw === wd;
  const out = alloc(backend, [n, exact ? h : m * th, exact ? wd : m * tw, co]);
  const v = alloc(backend, [a * a * planeBytes(T, cr) / 4]);
  const mm = alloc(backend, [a * a * planeBytes(T, co) / 4]);
  const [pi, pu, pv, pm, po] = [padded, u, v, mm, out].map((t) => offsetOf(backend, t));
  for (let t0 = 0; t0 < tiles; t0 += T) {
    const count = Math.min(T, tiles - t0);
    k.inputTransform(pi, pv, t0, count);
    k.gemm(pv, pu, pm, count);
    k.outputTransform(pm, po, t0, count);
  }
  [u, padded, v, mm].forEach((t) => free(backend, t));
  if (exact) return out;
  // odd H or W: crop the m-aligned output
  const y = alloc(backend, [n, h, wd, co]);
  const src = f32(backend, out);
  const dst = f32(backend, y);
  const row = wd * co;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      const so = ((b * m * th + i) * m * tw) * co;
      dst.set(src.subarray(so, so + row), (b * h + i) * row);
    }
  }
  free(backend, out);
  return y;
}
