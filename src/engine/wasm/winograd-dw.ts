/**
 * Filter gradient of the stride-1 pad-1 3x3 convolutions by Winograd F(m x m, 3 x 3) (Lavin & Gray
 * 2015, "Fast Algorithms for Convolutional Neural Networks", arXiv:1509.09308; the backward pass of
 * the minimal-filtering algorithm). Per tile, the forward output is Y = A^T [(G g G^T) . (B^T d B)] A,
 * linear in g, so the gradient of sum(dY . Y) with respect to g is
 *     dW = G^T [ sum over tiles (A dY A^T) . (B^T d B) ] G,
 * i.e. the same input transform as the forward pass, the m x m dy block transformed by A (a x m),
 * a*a GEMMs reducing over the tiles (acc[xi][c][f] += V[xi][t][c] D[xi][t][f]) and one final
 * G^T . G transform per call (float64). Partial sums stay in float32 for 16 images' tiles at most,
 * then go to float64 totals (as the direct filter-gradient kernel does).
 */
import { FnBuilder, I32, V128, instantiate } from './asm';
import { TensorInfo, WasmBackendLike, alloc, f32, free, offsetOf, padNHWC } from './heap';
import { fmaEnabled } from './simd';
import {
  F2, F4, Program, WinogradSpec, genInputTransform, planeBytes, runProgram, splatConsts, tempCount, tileAddress, vlocals,
} from './winograd-gen';
import { winogradStats, winogradTile } from './winograd';

/** y = Mat x as a program (no common subexpressions). */
function matrixProgram(mat: number[][]): Program {
  return mat.map((row, k) => [`y${k}`, row.map((c, j) => [c, `x${j}`] as [number, string]).filter(([c]) => c !== 0)]);
}

/** dyTransform(dy, D, t0, count): D[xi][t][f] = (A dy_tile A^T)[xi] for the m x m dy block of each tile. */
function genDyTransform(s: WinogradSpec): FnBuilder {
  const { m, a, AT } = s.mats;
  const prog = matrixProgram(AT[0].map((_, k) => AT.map((r) => r[k]))); // A = (A^T)^T, a x m
  const f = new FnBuilder('dyTransform', [I32, I32, I32, I32]);
  const [dy, dd, t0, count] = [0, 1, 2, 3];
  const [t, tile, src, tmp, pd, k] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const consts = splatConsts(f, [prog]);
  const r = vlocals(f, m * a);
  const x = vlocals(f, m);
  const wo = s.wp - 2;
  const plane = planeBytes(s.T, s.f);
  f.forRange(t, { c: 0 }, count, 1, () => {
    f.get(t0).get(t).i32Add().set(tile);
    tileAddress(f, s, tile, dy, s.hp - 2, wo, s.f, src, tmp);
    f.get(dd).get(t).i32(s.f * 4).i32Mul().i32Add().set(pd);
    f.forRange(k, { c: 0 }, { c: s.f / 4 }, 1, () => {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m; j++) f.get(src).v128Load((i * wo + j) * s.f * 4).set(x[j]);
        runProgram(f, prog, x, [], consts, (l, emit) => { emit(); f.set(r[i * a + l]); });
      }
      for (let l = 0; l < a; l++) {
        const col = Array.from({ length: m }, (_, i) => r[i * a + l]);
        runProgram(f, prog, col, [], consts, (q, emit) => { f.get(pd); emit(); f.v128Store((q * a + l) * plane); });
      }
      f.get(src).i32(16).i32Add().set(src);
      f.get(pd).i32(16).i32Add().set(pd);
    });
  });
  return f;
}

/** gemmDw(V, D, acc, count): acc[xi][c][f] += sum_{t < count} V[xi][t][c] D[xi][t][f]; 2 channels x 16 filters a register tile. */
function genGemmDw(s: WinogradSpec): FnBuilder {
  const { a } = s.mats;
  const { c, f: fch, T } = s;
  const fv = fch % 16 === 0 ? 4 : fch % 8 === 0 ? 2 : 1;
  const f = new FnBuilder('gemmDw', [I32, I32, I32, I32]);
  const [vb, db, ab, count] = [0, 1, 2, 3];
  const [xi, ci, t, pv0, pd0, pa0, pa, px, pd] = Array.from({ length: 9 }, () => f.local(I32));
  const acc = vlocals(f, 2 * fv);
  const d = vlocals(f, fv);
  const sx = f.local(V128);
  f.forRange(xi, { c: 0 }, { c: a * a }, 1, () => {
    f.get(vb).get(xi).i32(planeBytes(T, c)).i32Mul().i32Add().set(pv0);
    f.get(db).get(xi).i32(planeBytes(T, fch)).i32Mul().i32Add().set(pd0);
    f.get(ab).get(xi).i32(c * fch * 4).i32Mul().i32Add().set(pa0);
    f.forRange(ci, { c: 0 }, { c: c / 2 }, 1, () => {
      for (let f0 = 0; f0 < fch; f0 += 4 * fv) {
        f.get(pa0).get(ci).i32(2 * fch * 4).i32Mul().i32Add().set(pa);
        for (let cc = 0; cc < 2; cc++) for (let v = 0; v < fv; v++) f.get(pa).v128Load((cc * fch + f0 + 4 * v) * 4).set(acc[cc * fv + v]);
        f.get(pv0).get(ci).i32(8).i32Mul().i32Add().set(px);
        f.get(pd0).i32(f0 * 4).i32Add().set(pd);
        f.forRange(t, { c: 0 }, count, 1, () => {
          for (let v = 0; v < fv; v++) f.get(pd).v128Load(16 * v).set(d[v]);
          for (let cc = 0; cc < 2; cc++) {
            f.get(px).v128Load32Splat(4 * cc).set(sx);
            for (let v = 0; v < fv; v++) {
              const ac = acc[cc * fv + v];
              if (fmaEnabled()) f.get(sx).get(d[v]).get(ac).f32x4RelaxedMadd().set(ac);
              else f.get(sx).get(d[v]).f32x4Mul().get(ac).f32x4Add().set(ac);
            }
          }
          f.get(px).i32(c * 4).i32Add().set(px);
          f.get(pd).i32(fch * 4).i32Add().set(pd);
        });
        for (let cc = 0; cc < 2; cc++) for (let v = 0; v < fv; v++) f.get(pa).get(acc[cc * fv + v]).v128Store((cc * fch + f0 + 4 * v) * 4);
      }
    });
  });
  return f;
}

type Fn4 = (p0: number, p1: number, p2: number, p3: number) => void;
const compiled = new WeakMap<WebAssembly.Memory, Map<string, Record<string, Fn4>>>();

function kernels(memory: WebAssembly.Memory, s: WinogradSpec): Record<string, Fn4> {
  let perMem = compiled.get(memory);
  if (perMem === undefined) { perMem = new Map(); compiled.set(memory, perMem); }
  const key = [s.mats.m, s.c, s.f, s.hp, s.wp, s.tw, s.tpi, s.T, fmaEnabled()].join(':');
  let k = perMem.get(key);
  if (k === undefined) {
    k = instantiate([genInputTransform(s), genDyTransform(s), genGemmDw(s)], memory) as unknown as Record<string, Fn4>;
    perMem.set(key, k);
  }
  return k;
}

/** Bytes of the V + D scratch of one block of tiles. */
let dwBlockBytes = 512 * 1024;
export function setWinogradDwBlockBytes(b: number): void { dwBlockBytes = b; }

/** Images whose tiles are summed in float32 before the partial gradient goes to the float64 total. */
const DW_GROUP = 16;

/**
 * dW [3, 3, C, F] of y = conv(x, W) (stride 1, padding 1) by Winograd F(m x m, 3 x 3), m = winogradTile().
 * @param x input [N, H, W, C]; dy output gradient [N, H, W, F] (NHWC, on the wasm heap)
 * @throws when C or F is not a multiple of 4 (check winogradApplies first)
 */
export function winogradFilterGrad(backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo): TensorInfo {
  const mats = winogradTile() === 4 ? F4 : F2;
  const { m, a, G } = mats;
  const [n, h, wd, c] = x.shape;
  const fch = dy.shape[3];
  if (c % 4 !== 0 || fch % 4 !== 0) throw new Error(`wasm winograd: channels ${c} -> ${fch} are not multiples of 4`);
  const th = Math.ceil(h / m);
  const tw = Math.ceil(wd / m);
  const tpi = th * tw;
  const tiles = n * tpi;
  const hp = m * th + 2;
  const wp = m * tw + 2;
  let T = Math.floor(dwBlockBytes / (a * a * (c + fch) * 4));
  T = Math.max(1, Math.min(T, tiles, DW_GROUP * tpi));
  const spec: WinogradSpec = { mats, c, f: fch, hp, wp, tw, tpi, T, np: 1, fv: 1 };
  const memory = backend.wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) throw new Error('wasm winograd: the wasm backend does not expose its WebAssembly.Memory');
  const k = kernels(memory, spec);
  winogradStats.calls++;

  const size = a * a * c * fch;
  const padded = padNHWC(backend, x, 1, hp - h - 1, 1, wp - wd - 1);
  const dyp = hp - 2 === h && wp - 2 === wd ? dy : padNHWC(backend, dy, 0, hp - 2 - h, 0, wp - 2 - wd);
  const v = alloc(backend, [a * a * planeBytes(T, c) / 4]);
  const dd = alloc(backend, [a * a * planeBytes(T, fch) / 4]);
  const acc = alloc(backend, [size]);
  f32(backend, acc).fill(0);
  const total = new Float64Array(size);
  const [pi, pdy, pv, pd, pa] = [padded, dyp, v, dd, acc].map((t) => offsetOf(backend, t));
  const group = DW_GROUP * tpi;
  for (let t0 = 0; t0 < tiles;) {
    // blocks never straddle a group boundary: the float32 partial sums cover at most `group` tiles
    const count = Math.min(T, tiles - t0, group - (t0 % group));
    k.inputTransform(pi, pv, t0, count);
    k.dyTransform(pdy, pd, t0, count);
    k.gemmDw(pv, pd, pa, count);
    if ((t0 + count) % group === 0 || t0 + count >= tiles) { // flush the float32 partial sums
      const av = f32(backend, acc);
      for (let i = 0; i < size; i++) total[i] += av[i];
      av.fill(0);
    }
    t0 += count;
  }
  [padded, v, dd, acc].forEach((t) => free(backend, t));
  if (dyp !== dy) free(backend, dyp);
  // dW[p][q] = sum_{k,l} G[k][p] total[k][l] G[l][q]
  const out = alloc(backend, [3, 3, c, fch]);
  const o = f32(backend, out);
  const cf = c * fch;
  const tmp = new Float64Array(a * 3 * cf);
  for (let kk = 0; kk < a; kk++) {
    for (let q = 0; q < 3; q++) {
      const dst = (kk * 3 + q) * cf;
      for (let l = 0; l < a; l++) {
        const g = G[l][q];
        if (g === 0) continue;
        const src = (kk * a + l) * cf;
        for (let i = 0; i < cf; i++) tmp[dst + i] += g * total[src + i];
      }
    }
  }
  for (let p = 0; p < 3; p++) {
    for (let q = 0; q < 3; q++) {
      const dst = (p * 3 + q) * cf;
      for (let i = 0; i < cf; i++) {
        let s = 0;
        for (let kk = 0; kk < a; kk++) s += G[kk][p] * tmp[(kk * 3 + q) * cf + i];
        o[dst + i] = s;
      }
    }
  }
  return out;
}
