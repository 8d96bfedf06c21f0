/**
 * Generated wasm SIMD kernels (see asm.ts) for the per-channel and data-movement work of a
 * training step: batch-norm statistics / affine / backward, ReLU gradient, the transposes of
 * the filter-gradient route and the zero dilation of the stride-2 input gradient.
 *
 * All pointers are byte offsets into the wasm backend's heap; every kernel is specialised for its
 * channel count C (a multiple of 4) and compiled once per C.
 */
import { FnBuilder, I32, V128, instantiate } from './asm';

type Exports = Record<string, (...args: number[]) => number | void>;

/** Pixels per f32 partial sum before it is added into the f64 totals. */
const BLOCK = 64;

/** Lanes (32-bit) of a two-operand shuffle -> the 16 byte indices of i8x16.shuffle. */
function lanes(l: number[]): number[] {
  const out: number[] = [];
  for (const k of l) for (let b = 0; b < 4; b++) out.push(4 * k + b);
  return out;
}
const HI_TO_LO = lanes([2, 3, 2, 3]);

/**
 * Adds the f32x4 accumulator on the stack top... (helper) accumulates acc (a v128 local) into the
 * f64 totals at ptr + byteOff (4 doubles).
 */
function addToF64(f: FnBuilder, ptr: number, byteOff: number, acc: number): void {
  f.get(ptr).get(ptr).v128Load(byteOff).get(acc).f64x2PromoteLowF32x4().f64x2Add().v128Store(byteOff);
  f.get(ptr).get(ptr).v128Load(byteOff + 16)
    .get(acc).get(acc).i8x16Shuffle(HI_TO_LO).f64x2PromoteLowF32x4().f64x2Add().v128Store(byteOff + 16);
}

/**
 * sums(a, b, M, out, shifts): with u = a - shiftA[c], w = b - shiftB[c]:
 * out (f64) [0, C) += sum_p u[p, c]; [C, 2C) += sum_p u[p,c] * w[p,c]. Rows of C floats, M rows;
 * shifts = [shiftA (C floats), shiftB (C floats)].
 */
function genSums(c: number, name: string): FnBuilder {
  const V = c / 4;
  const f = new FnBuilder(name, [I32, I32, I32, I32, I32]);
  const [a, b, m, out, shifts] = [0, 1, 2, 3, 4];
  const p = f.local(I32);
  const blockEnd = f.local(I32);
  const pa = f.local(I32);
  const pb = f.local(I32);
  const s: number[] = [];
  const q: number[] = [];
  for (let v = 0; v < V; v++) { s.push(f.local(V128)); q.push(f.local(V128)); }
  const x = f.local(V128);
  const sa: number[] = [];
  const sb: number[] = [];
  for (let v = 0; v < V; v++) {
    sa.push(f.local(V128)); sb.push(f.local(V128));
    f.get(shifts).v128Load(16 * v).set(sa[v]);
    f.get(shifts).v128Load(4 * c + 16 * v).set(sb[v]);
  }
  const rowBytes = c * 4;
  f.i32(0).set(p);
  f.block().loop();
  // while (p < m)
  f.get(p).get(m).i32GeS().brIf(1);
  for (let v = 0; v < V; v++) { f.v128Zero().set(s[v]); f.v128Zero().set(q[v]); }
  // blockEnd = min(p + BLOCK, m)
  f.get(p).i32(BLOCK).i32Add().tee(blockEnd).get(m).i32GtS().if_().get(m).set(blockEnd).end();
  f.get(a).get(p).i32(rowBytes).i32Mul().i32Add().set(pa);
  f.get(b).get(p).i32(rowBytes).i32Mul().i32Add().set(pb);
  f.loop();
  for (let v = 0; v < V; v++) {
    f.get(pa).v128Load(16 * v).get(sa[v]).f32x4Sub().tee(x).get(s[v]).f32x4Add().set(s[v]);
    f.get(x).get(pb).v128Load(16 * v).get(sb[v]).f32x4Sub().f32x4Mul().get(q[v]).f32x4Add().set(q[v]);
  }
  f.get(pa).i32(rowBytes).i32Add().set(pa);
  f.get(pb).i32(rowBytes).i32Add().set(pb);
  f.get(p).i32(1).i32Add().tee(p).get(blockEnd).i32LtS().brIf(0);
  f.end();
  for (let v = 0; v < V; v++) {
    addToF64(f, out, 32 * v, s[v]);
    addToF64(f, out, 8 * c + 32 * v, q[v]);
  }
  f.br(0);
  f.end().end();
  return f;
}

/**
 * affine(x, y, M, params): y[p,c] = x[p,c] * params[c] + params[C + c]; with relu, max(., 0).
 */
function genAffine(c: number, relu: boolean, name: string): FnBuilder {
  const V = c / 4;
  const f = new FnBuilder(name, [I32, I32, I32, I32]);
  const [x, y, m, prm] = [0, 1, 2, 3];
  const p = f.local(I32);
  const px = f.local(I32);
  const py = f.local(I32);
  const sc: number[] = [];
  const sh: number[] = [];
  const zero = f.local(V128);
  for (let v = 0; v < V; v++) {
    sc.push(f.local(V128)); sh.push(f.local(V128));
    f.get(prm).v128Load(16 * v).set(sc[v]);
    f.get(prm).v128Load(4 * c + 16 * v).set(sh[v]);
  }
  f.v128Zero().set(zero);
  f.get(x).set(px).get(y).set(py);
  f.forRange(p, { c: 0 }, m, 1, () => {
    for (let v = 0; v < V; v++) {
      f.get(py).get(px).v128Load(16 * v).get(sc[v]).f32x4Mul().get(sh[v]).f32x4Add();
      if (relu) f.get(zero).f32x4PMax();
      f.v128Store(16 * v);
    }
    f.get(px).i32(c * 4).i32Add().set(px);
    f.get(py).i32(c * 4).i32Add().set(py);
  });
  return f;
}

/** bnBackward(dy, x, dx, M, params): dx = dy * params[c] + x * params[C+c] + params[2C+c]. */
function genBnBackward(c: number, name: string): FnBuilder {
  const V = c / 4;
  const f = new FnBuilder(name, [I32, I32, I32, I32, I32]);
  const [dy, x, dx, m, prm] = [0, 1, 2, 3, 4];
  const p = f.local(I32);
  const off = f.local(I32);
  const A: number[] = [];
  const B: number[] = [];
  const K: number[] = [];
  for (let v = 0; v < V; v++) {
    A.push(f.local(V128)); B.push(f.local(V128)); K.push(f.local(V128));
    f.get(prm).v128Load(16 * v).set(A[v]);
    f.get(prm).v128Load(4 * c + 16 * v).set(B[v]);
    f.get(prm).v128Load(8 * c + 16 * v).set(K[v]);
  }
  f.i32(0).set(off);
  f.forRange(p, { c: 0 }, m, 1, () => {
    for (let v = 0; v < V; v++) {
      f.get(dx).get(off).i32Add();
      f.get(dy).get(off).i32Add().v128Load(16 * v).get(A[v]).f32x4Mul();
      f.get(x).get(off).i32Add().v128Load(16 * v).get(B[v]).f32x4Mul().f32x4Add();
      f.get(K[v]).f32x4Add();
      f.v128Store(16 * v);
    }
    f.get(off).i32(c * 4).i32Add().set(off);
  });
  return f;
}

/** reluGrad(dy, y, dx, n16): dx = y > 0 ? dy : 0 over n16 groups of 16 floats. */
function genReluGrad(): FnBuilder {
  const f = new FnBuilder('reluGrad', [I32, I32, I32, I32]);
  const [dy, y, dx, n] = [0, 1, 2, 3];
  const i = f.local(I32);
  const off = f.local(I32);
  const zero = f.local(V128);
  f.v128Zero().set(zero);
  f.i32(0).set(off);
  f.forRange(i, { c: 0 }, n, 1, () => {
    for (let u = 0; u < 4; u++) {
      f.get(dx).get(off).i32Add();
      f.get(dy).get(off).i32Add().v128Load(16 * u);
      f.get(y).get(off).i32Add().v128Load(16 * u).get(zero).f32x4Gt();
      f.v128And().v128Store(16 * u);
    }
    f.get(off).i32(64).i32Add().set(off);
  });
  return f;
}

/** relu(x, y, n16): y = max(x, 0) over n16 groups of 16 floats. */
function genRelu(): FnBuilder {
  const f = new FnBuilder('relu', [I32, I32, I32]);
  const [x, y, n] = [0, 1, 2];
  const i = f.local(I32);
  const off = f.local(I32);
  const zero = f.local(V128);
  f.v128Zero().set(zero);
  f.i32(0).set(off);
  f.forRange(i, { c: 0 }, n, 1, () => {
    for (let u = 0; u < 4; u++) {
      f.get(y).get(off).i32Add();
      f.get(x).get(off).i32Add().v128Load(16 * u).get(zero).f32x4PMax();
      f.v128Store(16 * u);
    }
    f.get(off).i32(64).i32Add().set(off);
  });
  return f;
}

/**
 * toCHWN(x, xT, N, P, C): x [N, P, C] -> xT [C, P, N] for N and C multiples of 4 (4x4 blocks
 * transposed in registers).
 */
function genToCHWN(): FnBuilder {
  const f = new FnBuilder('toCHWN', [I32, I32, I32, I32, I32]);
  const [x, xt, n, pp, c] = [0, 1, 2, 3, 4];
  const b = f.local(I32);
  const p = f.local(I32);
  const k = f.local(I32);
  const src = f.local(I32);
  const dst = f.local(I32);
  const rowStride = f.local(I32); // bytes between x[b, p, :] and x[b+1, p, :] = P*C*4
  const plane = f.local(I32); // bytes between xT[c] and xT[c+1] = P*N*4
  const r = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const t = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(pp).get(c).i32Mul().i32(4).i32Mul().set(rowStride);
  f.get(pp).get(n).i32Mul().i32(4).i32Mul().set(plane);
  f.forRange(b, { c: 0 }, n, 4, () => {
    f.forRange(p, { c: 0 }, pp, 1, () => {
      f.forRange(k, { c: 0 }, c, 4, () => {
        // src = x + ((b*P + p)*C + k)*4
        f.get(x).get(b).get(pp).i32Mul().get(p).i32Add().get(c).i32Mul().get(k).i32Add().i32(4).i32Mul().i32Add().set(src);
        for (let i = 0; i < 4; i++) {
          f.get(src).v128Load().set(r[i]);
          if (i < 3) f.get(src).get(rowStride).i32Add().set(src);
        }
        f.get(r[0]).get(r[1]).i8x16Shuffle(lanes([0, 4, 1, 5])).set(t[0]);
        f.get(r[0]).get(r[1]).i8x16Shuffle(lanes([2, 6, 3, 7])).set(t[1]);
        f.get(r[2]).get(r[3]).i8x16Shuffle(lanes([0, 4, 1, 5])).set(t[2]);
        f.get(r[2]).get(r[3]).i8x16Shuffle(lanes([2, 6, 3, 7])).set(t[3]);
        // dst = xT + ((k*P + p)*N + b)*4
        f.get(xt).get(k).get(pp).i32Mul().get(p).i32Add().get(n).i32Mul().get(b).i32Add().i32(4).i32Mul().i32Add().set(dst);
        const outs: [number, number, number[]][] = [
          [t[0], t[2], [0, 1, 4, 5]], [t[0], t[2], [2, 3, 6, 7]], [t[1], t[3], [0, 1, 4, 5]], [t[1], t[3], [2, 3, 6, 7]],
        ];
        outs.forEach(([u, v, l], i) => {
          f.get(dst).get(u).get(v).i8x16Shuffle(lanes(l)).v128Store();
          if (i < 3) f.get(dst).get(plane).i32Add().set(dst);
        });
      });
    });
  });
  return f;
}

/**
 * rowCopy(src, dst, rows, srcStride, dstStride, n16): copies `rows` runs of 16*n16 floats from
 * src + i*srcStride to dst + i*dstStride (byte strides). Used for [N,P,F] -> [P,N,F] and for the
 * zero dilation of dy.
 */
function genRowCopy(): FnBuilder {
  const f = new FnBuilder('rowCopy', [I32, I32, I32, I32, I32, I32]);
  const [src, dst, rows, ss, ds, n16] = [0, 1, 2, 3, 4, 5];
  const i = f.local(I32);
  const j = f.local(I32);
  const ps = f.local(I32);
  const pd = f.local(I32);
  f.forRange(i, { c: 0 }, rows, 1, () => {
    f.get(src).get(i).get(ss).i32Mul().i32Add().set(ps);
    f.get(dst).get(i).get(ds).i32Mul().i32Add().set(pd);
    f.forRange(j, { c: 0 }, n16, 1, () => {
      for (let u = 0; u < 4; u++) f.get(pd).get(ps).v128Load(16 * u).v128Store(16 * u);
      f.get(ps).i32(64).i32Add().set(ps);
      f.get(pd).i32(64).i32Add().set(pd);
    });
  });
  return f;
}

/**
 * dwTap(x, dy, acc, rows, cols, xStride, xRowStride, dyRowStride): for one filter tap,
 * acc[c, f] += sum over rows r < rows, columns j < cols of x[r*xRowStride + j*xStride + c] * dy[r*dyRowStride + j*F*4 + f]
 * (byte strides; acc is [C, F] floats). Register tiles of ct channels x 4*fv filters.
 */
function genDwTap(c: number, fch: number): FnBuilder {
  const ct = c % 2 === 0 ? 2 : 1;
  const fvAll = fch / 4;
  const fv = fvAll % 4 === 0 ? 4 : fvAll % 2 === 0 ? 2 : 1;
  const f = new FnBuilder('k', [I32, I32, I32, I32, I32, I32, I32, I32]);
  const [x, dy, acc, rows, cols, xs, xrs, dyrs] = [0, 1, 2, 3, 4, 5, 6, 7];
  const r = f.local(I32);
  const j = f.local(I32);
  const px = f.local(I32);
  const pd = f.local(I32);
  const a: number[] = [];
  for (let i = 0; i < ct * fv; i++) a.push(f.local(V128));
  const d: number[] = [];
  for (let i = 0; i < fv; i++) d.push(f.local(V128));
  const sx = f.local(V128);
  for (let c0 = 0; c0 < c; c0 += ct) {
    for (let f0 = 0; f0 < fch; f0 += 4 * fv) {
      for (let cc = 0; cc < ct; cc++) {
        for (let v = 0; v < fv; v++) f.get(acc).v128Load(((c0 + cc) * fch + f0 + 4 * v) * 4).set(a[cc * fv + v]);
      }
      f.forRange(r, { c: 0 }, rows, 1, () => {
        f.get(x).get(r).get(xrs).i32Mul().i32Add().i32(c0 * 4).i32Add().set(px);
        f.get(dy).get(r).get(dyrs).i32Mul().i32Add().i32(f0 * 4).i32Add().set(pd);
        f.forRange(j, { c: 0 }, cols, 1, () => {
          for (let v = 0; v < fv; v++) f.get(pd).v128Load(16 * v).set(d[v]);
          for (let cc = 0; cc < ct; cc++) {
            f.get(px).v128Load32Splat(4 * cc).set(sx);
            for (let v = 0; v < fv; v++) {
              f.get(sx).get(d[v]).f32x4Mul().get(a[cc * fv + v]).f32x4Add().set(a[cc * fv + v]);
            }
          }
          f.get(px).get(xs).i32Add().set(px);
          f.get(pd).i32(fch * 4).i32Add().set(pd);
        });
      });
      for (let cc = 0; cc < ct; cc++) {
        for (let v = 0; v < fv; v++) {
          f.get(acc).get(a[cc * fv + v]).v128Store(((c0 + cc) * fch + f0 + 4 * v) * 4);
        }
      }
    }
  }
  return f;
}

export interface SimdKernels {
  /** Filter-gradient accumulation of one tap (see genDwTap); F must be a multiple of 4. */
  dwTap(c: number, f: number, x: number, dy: number, acc: number, rows: number, cols: number,
    xStride: number, xRowStride: number, dyRowStride: number): void;
  /** out(f64)[0..C) += sum (a - shA); [C..2C) += sum (a - shA)*(b - shB); shifts = [shA | shB] (f32). */
  sums(c: number, a: number, b: number, rows: number, out: number, shifts: number): void;
  affine(c: number, relu: boolean, x: number, y: number, rows: number, params: number): void;
  bnBackward(c: number, dy: number, x: number, dx: number, rows: number, params: number): void;
  reluGrad(dy: number, y: number, dx: number, count: number): void;
  relu(x: number, y: number, count: number): void;
  toCHWN(x: number, xt: number, n: number, p: number, c: number): void;
  rowCopy(src: number, dst: number, rows: number, srcStride: number, dstStride: number, n16: number): void;
}

/** Compiles the kernels against `memory` (the wasm backend's heap). */
export function createSimdKernels(memory: WebAssembly.Memory): SimdKernels {
  const perC = new Map<string, Exports>();
  const fixed = instantiate([genReluGrad(), genRelu(), genToCHWN(), genRowCopy()], memory);
  const forC = (c: number, kind: string): Exports => {
    const key = `${kind}:${c}`;
    let e = perC.get(key);
    if (e === undefined) {
      const fn = kind === 'sums' ? genSums(c, 'k')
        : kind === 'affine' ? genAffine(c, false, 'k')
          : kind === 'affineRelu' ? genAffine(c, true, 'k')
            : kind.startsWith('dw') ? genDwTap(c, Number(kind.slice(2)))
              : genBnBackward(c, 'k');
      e = instantiate([fn], memory);
      perC.set(key, e);
    }
    return e;
  };
  return {
    dwTap: (c, fch, x, dy, acc, rows, cols, xs, xrs, dyrs) => {
      forC(c, `dw${fch}`).k(x, dy, acc, rows, cols, xs, xrs, dyrs);
    },
    sums: (c, a, b, rows, out, shifts) => { forC(c, 'sums').k(a, b, rows, out, shifts); },
    affine: (c, relu, x, y, rows, params) => { forC(c, relu ? 'affineRelu' : 'affine').k(x, y, rows, params); },
    bnBackward: (c, dy, x, dx, rows, params) => { forC(c, 'bnBackward').k(dy, x, dx, rows, params); },
    reluGrad: (dy, y, dx, count) => { fixed.reluGrad(dy, y, dx, count); },
    relu: (x, y, count) => { fixed.relu(x, y, count); },
    toCHWN: (x, xt, n, p, c) => { fixed.toCHWN(x, xt, n, p, c); },
    rowCopy: (src, dst, rows, ss, ds, n16) => { fixed.rowCopy(src, dst, rows, ss, ds, n16); },
  };
}
