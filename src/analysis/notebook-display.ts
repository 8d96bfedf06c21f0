/**
 * Rich values in the tslab (TypeScript) Jupyter kernel, as IPython shows pandas frames and Plotly
 * figures: when a cell's last expression is a danfo DataFrame or Series, its `Out[n]` is an HTML
 * table (plus danfo's text table as text/plain); when it is a Plotly figure object `{data, layout}`
 * (the workspace's chart builders), an interactive chart drawn offline by plotly.js from
 * node_modules. Everything else keeps tslab's text/plain.
 *
 * The formatter is registered with tslab's `addFormatter` (added by the workspace's patch of tslab,
 * patches/tslab+1.0.22.patch) automatically when the workspace is imported inside a tslab kernel.
 */
import * as path from 'path';
import { figureOutputBundle, figureSummary } from './charts/notebook';

export { figureSummary };
import type { MimeBundle } from './charts/notebook';
import type { PlotlyFigure } from './charts/types';
import { frameHtml } from './report/notebook';

/** The parts of a danfo DataFrame / Series used here (duck-typed: danfo has several copies of its classes). */
export interface DanfoLike {
  columns: string[];
  index: Array<string | number>;
  values: unknown[];
  shape: number[];
  toString(): string;
}

export type { MimeBundle };

/** Whether `v` is a danfo DataFrame or Series (by class name and shape of its fields). */
export function isDanfoFrame(v: unknown): v is DanfoLike {
  if (v === null || typeof v !== 'object') return false;
  const name = (v as { constructor?: { name?: string } }).constructor?.name;
  if (name !== 'DataFrame' && name !== 'Series') return false;
  const o = v as Partial<DanfoLike>;
  return Array.isArray(o.columns) && Array.isArray(o.index) && Array.isArray(o.values) && Array.isArray(o.shape);
}

/** Whether `v` is a Plotly figure object: a plain object with an array `data` of objects and an object `layout`. */
export function isPlotlyFigure(v: unknown): v is PlotlyFigure {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  const f = v as Partial<PlotlyFigure>;
  return Array.isArray(f.data) && f.data.every((t) => t !== null && typeof t === 'object') &&
    f.layout !== null && typeof f.layout === 'object' && !Array.isArray(f.layout);
}

/**
 * The notebook formatter: MIME bundle of a danfo frame (text/html table of report/notebook.ts'
 * frameHtml, text/plain danfo's text table) or of a Plotly figure (charts/notebook.ts
 * figureOutputBundle: text/html interactive chart with its static PNG inside, loading plotly.js once
 * per kernel session; image/png; text/plain {@link figureSummary}); undefined for any other value.
 */
export function notebookMimeBundle(value: unknown): MimeBundle | undefined {
  if (isDanfoFrame(value)) return { 'text/html': frameHtml(value), 'text/plain': value.toString() };
  if (isPlotlyFigure(value)) return figureOutputBundle(value);
  return undefined;
}

let unregister: (() => void) | undefined;

/**
 * Registers {@link notebookMimeBundle} with the tslab kernel (idempotent). Throws if tslab is
 * missing or unpatched (no `addFormatter`: run `npm install`, which applies patches/ with
 * patch-package).
 */
export function registerNotebookFormatters(): void {
  if (unregister) return;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const tslab = require('tslab') as { addFormatter?: (f: (v: unknown) => MimeBundle | undefined) => () => void };
  if (typeof tslab.addFormatter !== 'function') {
    throw new Error('tslab has no addFormatter: node_modules/tslab is not patched (run npm install; patches/tslab+1.0.22.patch is applied by patch-package)');
  }
  unregister = tslab.addFormatter(notebookMimeBundle);
}

/** Removes the formatter registered by {@link registerNotebookFormatters}. */
export function unregisterNotebookFormatters(): void {
  unregister?.();
  unregister = undefined;
}

/** Whether this process is a tslab kernel (its Jupyter module is loaded), without loading tslab. */
export function inTslabKernel(): boolean {
  const marker = `${path.sep}tslab${path.sep}dist${path.sep}jupyter.js`;
  return Object.keys(require.cache).some((k) => k.endsWith(marker));
}

/**
 * Registers the formatters when running inside a tslab kernel (called when the workspace is
 * imported); does nothing elsewhere. If it cannot (unpatched tslab) it warns on stderr and values
 * keep tslab's text/plain, so the import itself never fails. Returns whether it registered.
 */
export function autoRegisterNotebookFormatters(): boolean {
  if (!inTslabKernel()) return false;
  try {
    registerNotebookFormatters();
    return true;
  } catch (err) {
    process.stderr.write(`warning: rich notebook output is off: ${(err as Error).message}\n`);
    return false;
  }
}
