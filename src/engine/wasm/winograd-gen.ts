/**
 * Generated wasm SIMD kernels (see asm.ts) of the Winograd minimal-filtering convolution
 * F(m x m, 3 x 3) of Lavin & Gray 2015, "Fast Algorithms for Convolutional Neural Networks"
 * (arXiv:1509.09308), section 4: per a x a input tile d (a = m + 2), Y = A^T [(G g G^T) . (B^T d B)] A,
 * the elementwise product summed over the input channels being a x a independent GEMMs.
 *
 * Three kernels per (m, shape), all on the wasm heap, over a block of T consecutive tiles (tile
 * index = (image * tilesHigh + tileRow) * tilesWide + tileCol):
 *  - inputTransform(in, V, t0, count): V[xi][t][c] = (B^T d B)[xi] of tile t0 + t, d read from the
 *    zero-padded NHWC input [N, hp, wp, C] (SIMD over 4 channels);
 *  - gemm(V, U, M, count): M[xi][t][f] = sum_c V[xi][t][c] U[xi][c][f], register tile of NP tiles
 *    x 4*fv output channels (broadcast V, vector U: the direct kernels' micro-kernel);
 *  - outputTransform(M, out, t0, count): the m x m outputs A^T M A of each tile into the NHWC output
 *    [N, ho, wo, F] (ho, wo multiples of m; the host crops odd sizes).
 */
import { FnBuilder, I32, V128, instantiate } from './asm';
import { fmaEnabled } from './simd';

/** The transform matrices B^T (a x a), G (a x 3) and A^T (m x a) of F(m x m, 3 x 3). */
export interface WinogradMatrices {
  m: number; a: number; BT: number[][]; G: number[][]; AT: number[][];
  /** y = B^T x and y = A^T x as programs. */
  bt: Program; at: Program;
}

/**
 * A 1-D transform as straight-line code with common subexpressions: assignments name <- sum coef *
 * name over inputs x0.., temporaries t0.. and outputs y0.. (y = Mat x for the matrix it implements;
 * test/winograd.test.ts checks every program against its matrix).
 */
export type Program = [string, [number, string][]][];

/** F(2x2, 3x3), interpolation points 0, 1, -1 (Lavin & Gray 2015, eq. 7-8). */
export const F2: WinogradMatrices = {
  m: 2, a: 4,
  BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
  bt: [['y0', [[1, 'x0'], [-1, 'x2']]], ['y1', [[1, 'x1'], [1, 'x2']]], ['y2', [[1, 'x2'], [-1, 'x1']]], ['y3', [[1, 'x1'], [-1, 'x3']]]],
  at: [['y0', [[1, 'x0'], [1, 'x1'], [1, 'x2']]], ['y1', [[1, 'x1'], [-1, 'x2'], [-1, 'x3']]]],
};

/** F(4x4, 3x3), interpolation points 0, 1, -1, 2, -2 (Lavin & Gray 2015, section 4.2). */
export const F4: WinogradMatrices = {
  m: 4, a: 6,
  BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
  G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
  AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
  bt: [
    ['y0', [[4, 'x0'], [-5, 'x2'], [1, 'x4']]],
    ['t0', [[1, 'x4'], [-4, 'x2']]], ['t1', [[1, 'x3'], [-4, 'x1']]],
    ['y1', [[1, 't0'], [1, 't1']]], ['y2', [[1, 't0'], [-1, 't1']]],
    ['t2', [[1, 'x4'], [-1, 'x2']]], ['t3', [[2, 'x3'], [-2, 'x1']]],
    ['y3', [[1, 't2'], [1, 't3']]], ['y4', [[1, 't2'], [-1, 't3']]],
    ['y5', [[4, 'x1'], [-5, 'x3'], [1, 'x5']]],
  ],
  at: [
    ['t0', [[1, 'x1'], [1, 'x2']]], ['t1', [[1, 'x1'], [-1, 'x2']]], ['t2', [[1, 'x3'], [1, 'x4']]], ['t3', [[1, 'x3'], [-1, 'x4']]],
    ['y0', [[1, 'x0'], [1, 't0'], [1, 't2']]], ['y1', [[1, 't1'], [2, 't3']]],
    ['y2', [[1, 't0'], [4, 't2']]], ['y3', [[1, 't1'], [8, 't3'], [1, 'x5']]],
  ],
};

/**
 * Bytes between the planes xi and xi + 1 of the V / M block ([a*a][T][ch]): T*ch*4 padded so that
 * the a*a loads / stores of one tile do not fall 4 KiB apart (same L1 set, 4K aliasing).
 */
export function planeBytes(T: number, ch: number): number {
  let p = T * ch * 4 + 64;
  if (p % 1024 === 0) p += 64;
  return p;
}

/** Shape of one generated Winograd kernel set. */
export interface WinogradSpec {
  mats: WinogradMatrices;
  /** Reduction (input) channels and output channels, multiples of 4. */
  c: number; f: number;
  /** Padded input rows / columns (m * tilesHigh + 2, m * tilesWide + 2). */
  hp: number; wp: number;
  /** Tiles per row, tiles per image. */
  tw: number; tpi: number;
  /** Tiles per block (the V / M scratch holds a*a*T rows). */
  T: number;
  /** Register tile of the GEMM: tiles x (4 * vectors) output channels. */
  np: number; fv: number;
}

export interface WinogradKernels {
  inputTransform(inp: number, v: number, t0: number, count: number): void;
  gemm(v: number, u: number, m: number, count: number): void;
  outputTransform(m: number, out: number, t0: number, count: number): void;
}

/**
 * Emits sum_k coef[k] * operand(k) (v128) onto the stack; operand(k) pushes the k-th operand;
 * constants other than +-1 are read from the splatted-constant locals in consts.
 */
export function lincomb(f: FnBuilder, coef: number[], operand: (k: number) => void, consts: Map<number, number>): void {
  const terms = coef.map((c, k) => ({ c, k })).filter((t) => t.c !== 0);
  terms.sort((x, y) => Number(y.c > 0) - Number(x.c > 0)); // a positive term first when there is one
  terms.forEach((t, i) => {
    const mag = Math.abs(t.c);
    if (i === 0) {
      if (t.c < 0) f.v128Zero();
      operand(t.k);
      if (mag !== 1) f.get(consts.get(mag) as number).f32x4Mul();
      if (t.c < 0) f.f32x4Sub();
      return;
    }
    operand(t.k);
    if (mag !== 1) f.get(consts.get(mag) as number).f32x4Mul();
    if (t.c > 0) f.f32x4Add(); else f.f32x4Sub();
  });
  if (terms.length === 0) f.v128Zero();
}

/** Locals holding f32x4.splat(v) for every |coefficient| other than 0 and 1 of the programs. */
export function splatConsts(f: FnBuilder, progs: Program[]): Map<number, number> {
  const consts = new Map<number, number>();
  for (const p of progs) {
    for (const [, terms] of p) {
      for (const [c] of terms) {
        const mag = Math.abs(c);
        if (mag !== 0 && mag !== 1 && !consts.has(mag)) {
          const l = f.local(V128);
          f.f32(mag).f32x4Splat().set(l);
          consts.set(mag, l);
        }
      }
    }
  }
  return consts;
}

/**
 * Emits a program with inputs x[k] and temporaries in locals; each output y_j goes to out(j, emit)
 * where emit() pushes its value (out stores it or sets a local).
 */
export function runProgram(f: FnBuilder, p: Program, x: number[], temps: number[], consts: Map<number, number>,
  out: (j: number, emit: () => void) => void): void {
  const local = (name: string) => (name[0] === 'x' ? x : temps)[Number(name.slice(1))];
  for (const [dst, terms] of p) {
    const emit = () => lincomb(f, terms.map(([c]) => c), (k) => f.get(local(terms[k][1])), consts);
    if (dst[0] === 'y') out(Number(dst.slice(1)), emit);
    else { emit(); f.set(local(dst)); }
  }
}

/** Temporaries a program uses (t0..). */
export function tempCount(p: Program): number {
  return p.filter(([d]) => d[0] === 't').reduce((n, [d]) => Math.max(n, Number(d.slice(1)) + 1), 0);
}

/** base = ((n * rows + m*ty) * cols + m*tx) * ch * 4 + ptr for tile index tile (a local). */
export function tileAddress(f: FnBuilder, s: WinogradSpec, tile: number, ptr: number, rows: number, cols: number, ch: number, into: number, tmp: number): void {
  const m = s.mats.m;
  // tmp = tile % tpi; into = n * rows
  f.get(tile).i32(s.tpi).i32DivU().i32(rows).i32Mul().set(into);
  f.get(tile).get(tile).i32(s.tpi).i32DivU().i32(s.tpi).i32Mul().i32Sub().set(tmp);
  // into = ((into + m * (tmp / tw)) * cols + m * (tmp % tw)) * ch * 4 + ptr
  f.get(into).get(tmp).i32(s.tw).i32DivU().i32(m).i32Mul().i32Add().i32(cols).i32Mul();
  f.get(tmp).get(tmp).i32(s.tw).i32DivU().i32(s.tw).i32Mul().i32Sub().i32(m).i32Mul().i32Add();
  f.i32(ch * 4).i32Mul().get(ptr).i32Add().set(into);
}

export function vlocals(f: FnBuilder, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(f.local(V128));
  return out;
}

export function genInputTransform(s: WinogradSpec): FnBuilder {
  const { a, bt } = s.mats;
  const f = new FnBuilder('inputTransform', [I32, I32, I32, I32]);
  const [inp, v, t0, count] = [0, 1, 2, 3];
  const [t, tile, src, tmp, pv, k] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const consts = splatConsts(f, [bt]);
  const r = vlocals(f, a * a);
  const x = vlocals(f, a);
  const temps = vlocals(f, tempCount(bt));
  const rowStride = s.wp * s.c * 4;
  const plane = planeBytes(s.T, s.c);
  f.forRange(t, { c: 0 }, count, 1, () => {
    f.get(t0).get(t).i32Add().set(tile);
    tileAddress(f, s, tile, inp, s.hp, s.wp, s.c, src, tmp);
    f.get(v).get(t).i32(s.c * 4).i32Mul().i32Add().set(pv);
    f.forRange(k, { c: 0 }, { c: s.c / 4 }, 1, () => {
      // rows: r[i][.] = B^T d[i][.]
      for (let i = 0; i < a; i++) {
        for (let l = 0; l < a; l++) f.get(src).v128Load(i * rowStride + l * s.c * 4).set(x[l]);
        runProgram(f, bt, x, temps, consts, (j, emit) => { emit(); f.set(r[i * a + j]); });
      }
      // columns: V[i][j] = (B^T r[.][j])[i]
      for (let j = 0; j < a; j++) {
        const col = Array.from({ length: a }, (_, l) => r[l * a + j]);
        runProgram(f, bt, col, temps, consts, (i, emit) => { f.get(pv); emit(); f.v128Store((i * a + j) * plane); });
      }
      f.get(src).i32(16).i32Add().set(src);
      f.get(pv).i32(16).i32Add().set(pv);
    });
  });
  return f;
}

function genOutputTransform(s: WinogradSpec): FnBuilder {
  const { m, a, at } = s.mats;
  const f = new FnBuilder('outputTransform', [I32, I32, I32, I32]);
  const [mm, out, t0, count] = [0, 1, 2, 3];
  const [t, tile, dst, tmp, pm, k] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const consts = splatConsts(f, [at]);
  const r = vlocals(f, m * a);
  const x = vlocals(f, a);
  const temps = vlocals(f, tempCount(at));
  const plane = planeBytes(s.T, s.f);
  const wo = s.wp - 2;
  f.forRange(t, { c: 0 }, count, 1, () => {
    f.get(t0).get(t).i32Add().set(tile);
    tileAddress(f, s, tile, out, s.hp - 2, wo, s.f, dst, tmp);
    f.get(mm).get(t).i32(s.f * 4).i32Mul().i32Add().set(pm);
    f.forRange(k, { c: 0 }, { c: s.f / 4 }, 1, () => {
      // columns: r[.][j] = A^T M[.][j]
      for (let j = 0; j < a; j++) {
        for (let l = 0; l < a; l++) f.get(pm).v128Load((l * a + j) * plane).set(x[l]);
        runProgram(f, at, x, temps, consts, (i, emit) => { emit(); f.set(r[i * a + j]); });
      }
      // rows: Y[i][.] = A^T r[i][.]
      for (let i = 0; i < m; i++) {
        const row = r.slice(i * a, i * a + a);
        runProgram(f, at, row, temps, consts, (j, emit) => { f.get(dst); emit(); f.v128Store((i * wo + j) * s.f * 4); });
      }
      f.get(dst).i32(16).i32Add().set(dst);
      f.get(pm).i32(16).i32Add().set(pm);
    });
  });
  return f;
}

function genGemm(s: WinogradSpec): FnBuilder {
  const { a } = s.mats;
  const { c, f: fch, np: NP, fv, T } = s;
  const f = new FnBuilder('gemm', [I32, I32, I32, I32]);
  const [vb, ub, mb, count] = [0, 1, 2, 3];
  const xi = f.local(I32);
  const pv0 = f.local(I32);
  const pu0 = f.local(I32);
  const pm0 = f.local(I32);
  const pv = f.local(I32);
  const pm = f.local(I32);
  const px = f.local(I32);
  const pu = f.local(I32);
  const j = f.local(I32);
  const k = f.local(I32);
  const groups = f.local(I32);
  const rest = f.local(I32);
  const acc: number[] = [];
  for (let i = 0; i < NP * fv; i++) acc.push(f.local(V128));
  const wv: number[] = [];
  for (let i = 0; i < fv; i++) wv.push(f.local(V128));
  const sx = f.local(V128);
  const madd = (x: number, w: number, ac: number) => {
    if (fmaEnabled()) f.get(x).get(w).get(ac).f32x4RelaxedMadd().set(ac);
    else f.get(x).get(w).f32x4Mul().get(ac).f32x4Add().set(ac);
  };
  // one channel per loop iteration: measured 1.5-2x faster than unrolling 2, 4 or 8 (V8 compiles small
  // loop bodies better; see simd.ts genConvRow)
  const cu = 1;
  const tileBody = (n: number, f0: number) => {
    for (let i = 0; i < n * fv; i++) f.v128Zero().set(acc[i]);
    f.get(pu0).i32(f0 * 4).i32Add().set(pu);
    f.get(pv).set(px);
    f.forRange(k, { c: 0 }, { c: c / cu }, 1, () => {
      for (let cc = 0; cc < cu; cc++) {
        for (let v = 0; v < fv; v++) f.get(pu).v128Load((cc * fch + 4 * v) * 4).set(wv[v]);
        for (let p = 0; p < n; p++) {
          f.get(px).v128Load32Splat((p * c + cc) * 4).set(sx);
          for (let v = 0; v < fv; v++) madd(sx, wv[v], acc[p * fv + v]);
        }
      }
      f.get(px).i32(cu * 4).i32Add().set(px);
      f.get(pu).i32(cu * fch * 4).i32Add().set(pu);
    });
    for (let p = 0; p < n; p++) {
      for (let v = 0; v < fv; v++) f.get(pm).get(acc[p * fv + v]).v128Store((p * fch + f0 + 4 * v) * 4);
    }
  };
  f.get(count).i32(NP).i32DivU().set(groups);
  f.get(count).get(groups).i32(NP).i32Mul().i32Sub().set(rest);
  f.forRange(xi, { c: 0 }, { c: a * a }, 1, () => {
    f.get(vb).get(xi).i32(planeBytes(T, c)).i32Mul().i32Add().set(pv0);
    f.get(ub).get(xi).i32(c * fch * 4).i32Mul().i32Add().set(pu0);
    f.get(mb).get(xi).i32(planeBytes(T, fch)).i32Mul().i32Add().set(pm0);
    for (let f0 = 0; f0 < fch; f0 += 4 * fv) {
      f.get(pv0).set(pv).get(pm0).set(pm);
      f.forRange(j, { c: 0 }, groups, 1, () => {
        tileBody(NP, f0);
        f.get(pv).i32(NP * c * 4).i32Add().set(pv);
        f.get(pm).i32(NP * fch * 4).i32Add().set(pm);
      });
      f.forRange(j, { c: 0 }, rest, 1, () => {
        tileBody(1, f0);
        f.get(pv).i32(c * 4).i32Add().set(pv);
        f.get(pm).i32(fch * 4).i32Add().set(pm);
      });
    }
  });
  return f;
}

const compiled = new WeakMap<WebAssembly.Memory, Map<string, WinogradKernels>>();

/** The three kernels for a spec, compiled once per (memory, spec, FMA flavour). */
export function winogradKernels(memory: WebAssembly.Memory, s: WinogradSpec): WinogradKernels {
  let perMem = compiled.get(memory);
  if (perMem === undefined) { perMem = new Map(); compiled.set(memory, perMem); }
  const key = [s.mats.m, s.c, s.f, s.hp, s.wp, s.tw, s.tpi, s.T, s.np, s.fv, fmaEnabled()].join(':');
  let k = perMem.get(key);
  if (k === undefined) {
    const e = instantiate([genInputTransform(s), genGemm(s), genOutputTransform(s)], memory);
    k = {
      inputTransform: e.inputTransform as WinogradKernels['inputTransform'],
      gemm: e.gemm as WinogradKernels['gemm'],
      outputTransform: e.outputTransform as WinogradKernels['outputTransform'],
    };
    perMem.set(key, k);
  }
  return k;
}
