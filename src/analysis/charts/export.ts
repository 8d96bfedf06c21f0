import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { figureToHtml, plotlyJsPath, writePlotlyJsBeside } from './html';
import { figureCaption, notebookFigure, paperFigure, type FigureStyle } from './presets';
import type { PlotlyFigure } from './types';

/** Output formats of {@link exportFigure}. */
export type ExportFormat = 'png' | 'svg' | 'html';

/** Chromium flags used for rendering (headless, offline, no sandbox for containers). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Fixed locations tried after `CHROMIUM_PATH` and before searching PATH. */
const CHROMIUM_LOCATIONS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium'];
/** Program names searched on PATH. */
const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];

/** Thrown when no Chromium executable can be found; `searched` lists every candidate tried. */
export class ChromiumNotFoundError extends Error {
  readonly searched: string[];
  constructor(searched: string[], detail?: string) {
    super(
      `No Chromium executable found for PNG/SVG export${detail ? ` (${detail})` : ''}. Searched: ${searched.join(', ')}. ` +
        'Set CHROMIUM_PATH to a Chromium or Chrome binary (e.g. CHROMIUM_PATH=/usr/bin/chromium) or pass { chromiumPath }; ' +
        "HTML export (formats: ['html']) works without Chromium.",
    );
    this.name = 'ChromiumNotFoundError';
    this.searched = searched;
  }
}

function isExecutableFile(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Path of the Chromium used for rendering: `explicit` (an option) or `CHROMIUM_PATH` when set
 * (must exist and be executable: no fallback, so a wrong setting is noticed), else
 * /usr/bin/chromium, /usr/bin/chromium-browser, /snap/bin/chromium, else `chromium`,
 * `chromium-browser`, `google-chrome`, `google-chrome-stable`, `chrome` on PATH (like `which`).
 * Never downloads a browser. Throws {@link ChromiumNotFoundError}.
 * @param env environment to read CHROMIUM_PATH and PATH from (default process.env)
 * @param locations fixed locations to try (default the three above; tests pass [])
 */
export function findChromium(explicit?: string, env: NodeJS.ProcessEnv = process.env, locations: readonly string[] = CHROMIUM_LOCATIONS): string {
  const forced = explicit ?? (env.CHROMIUM_PATH ? env.CHROMIUM_PATH : undefined);
  if (forced !== undefined) {
    const source = explicit !== undefined ? 'chromiumPath option' : 'CHROMIUM_PATH';
    if (isExecutableFile(forced)) return forced;
    throw new ChromiumNotFoundError([`${source}=${forced}`], `${source} points at ${fs.existsSync(forced) ? 'a file that is not an executable' : 'a file that does not exist'}`);
  }
  const searched: string[] = ['CHROMIUM_PATH (not set)'];
  for (const p of locations) {
    searched.push(p);
    if (isExecutableFile(p)) return p;
  }
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const name of CHROMIUM_NAMES) {
    searched.push(`${name} on PATH`);
    for (const d of dirs) {
      const p = path.join(d, name);
      if (isExecutableFile(p)) return p;
    }
  }
  throw new ChromiumNotFoundError(searched);
}

/**
 * Writes a file atomically: the data go to a temporary file in the same directory (fsynced), which
 * is then renamed over `file`. An interrupted write never leaves a partial file under the final
 * name; the temporary file is removed on error.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(tmp, 'wx', 0o644);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(tmp, file);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

export interface ImageOptions {
  format: 'png' | 'svg';
  /** Image size in CSS pixels (default: layout width/height, else 900 x 560). */
  width?: number;
  height?: number;
  /** Pixel-density factor of the PNG (default 2: a 900 px wide figure gives an 1800 px PNG). */
  scale?: number;
}

export interface ExportOptions {
  /** Default ['png', 'svg', 'html']. */
  formats?: readonly ExportFormat[];
  /** PNG scale factor (default 2). */
  scale?: number;
  width?: number;
  height?: number;
  /** Reuse an exporter (and its browser); otherwise one is started and closed for this call. */
  exporter?: FigureExporter;
  /** Chromium executable, overriding CHROMIUM_PATH and the search (see {@link findChromium}). */
  chromiumPath?: string;
  /**
   * PNG/SVG style: 'screen' (default here: the figure as built, at width x height x scale) or
   * 'paper' (presets.ts paperFigure: `columns` wide at 300 dpi, no title, the caption written beside
   * as `<base>.txt`); `npm run export-charts` and `npm run report` default to 'paper'.
   */
  style?: FigureStyle;
  /** Paper style: 1 (default) or 2 columns wide. */
  columns?: 1 | 2;
  /** HTML: 'directory' (default: plotly.min.js once beside the pages) or 'inline' (self-contained pages). */
  plotlyJs?: 'directory' | 'inline';
}

/** Paths written by an export, by format. */
export type ExportResult = Partial<Record<ExportFormat | 'caption', string>>;

/** Renders figures with one headless Chromium page; call {@link FigureExporter.close} when done. */
export interface FigureExporter {
  /** PNG bytes, or SVG text as UTF-8 bytes. */
  toImage(fig: PlotlyFigure, opts: ImageOptions): Promise<Buffer>;
  /** Writes `<basePath>.<format>` for each format (atomically); returns the paths. */
  export(fig: PlotlyFigure, basePath: string, opts?: Omit<ExportOptions, 'exporter' | 'chromiumPath'>): Promise<ExportResult>;
  /** Path of the Chromium executable in use. */
  readonly executablePath: string;
  close(): Promise<void>;
}

export interface ExporterOptions {
  chromiumPath?: string;
  /** Browser launch timeout in ms (default 60000). */
  launchTimeoutMs?: number;
}

const DEFAULT_SIZE = { width: 900, height: 560 };

function imageSize(fig: PlotlyFigure, w?: number, h?: number): { width: number; height: number } {
  const lw = typeof fig.layout.width === 'number' ? fig.layout.width : undefined;
  const lh = typeof fig.layout.height === 'number' ? fig.layout.height : undefined;
  return { width: w ?? lw ?? DEFAULT_SIZE.width, height: h ?? lh ?? DEFAULT_SIZE.height };
}

/** Strips a trailing .png/.svg/.html from a base path so both "a/b" and "a/b.png" work. */
function stripExt(basePath: string): string {
  return basePath.replace(/\.(png|svg|html)$/i, '');
}

/**
 * Starts headless Chromium (see {@link findChromium}) through playwright-core with
 * {@link CHROMIUM_ARGS}, loads plotly.js from node_modules into one blank page (no network), and
 * returns an exporter that renders figures there with `Plotly.toImage`. Reuse it for many figures.
 */
export async function createFigureExporter(opts: ExporterOptions = {}): Promise<FigureExporter> {
  const executablePath = findChromium(opts.chromiumPath);
  // Loaded lazily so that importing the charts does not load playwright.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const browser: Browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: opts.launchTimeoutMs ?? 60_000,
  });
  let page: Page;
  try {
    page = await browser.newPage();
    // Offline: the page and plotly.js are served from memory / node_modules by request
    // interception on a reserved .invalid origin; every other request is refused.
    const origin = 'http://plotly-render.invalid/';
    const plotlyFile = plotlyJsPath();
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url === `${origin}plotly.js`) return route.fulfill({ path: plotlyFile, contentType: 'text/javascript; charset=utf-8' });
      if (url === `${origin}index.html`) {
        return route.fulfill({
          contentType: 'text/html; charset=utf-8',
          body: '<!DOCTYPE html><html><head><meta charset="utf-8"><script src="plotly.js"></script></head><body></body></html>',
        });
      }
      return route.abort();
    });
    await page.goto(`${origin}index.html`, { waitUntil: 'load', timeout: opts.launchTimeoutMs ?? 120_000 });
    const ok = await page.evaluate(() => typeof (window as unknown as { Plotly?: unknown }).Plotly === 'object');
    if (!ok) throw new Error(`plotly.js from ${plotlyJsPath()} did not define window.Plotly`);
  } catch (err) {
    await browser.close().catch(() => undefined);
    throw err;
  }
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };

  const toImage = (fig: PlotlyFigure, o: ImageOptions): Promise<Buffer> =>
    serial(async () => {
      if (closed) throw new Error('FigureExporter is closed');
      const { width, height } = imageSize(fig, o.width, o.height);
      const scale = o.format === 'png' ? o.scale ?? 2 : 1;
      const result = await page.evaluate(
        async ({ fig, format, width, height, scale }) => {
          const Plotly = (window as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } }).Plotly;
          return Plotly.toImage(
            { data: fig.data, layout: { ...fig.layout, width, height }, config: { ...(fig.config ?? {}), mathjax: false } },
            { format, width, height, scale, imageDataOnly: true },
          );
        },
        { fig: JSON.parse(JSON.stringify(fig)) as PlotlyFigure, format: o.format, width, height, scale },
      );
      return o.format === 'png' ? Buffer.from(result, 'base64') : Buffer.from(result, 'utf8');
    });

  const exporter: FigureExporter = {
    executablePath,
    toImage,
    async export(fig, basePath, eo = {}) {
      const base = stripExt(basePath);
      const formats = eo.formats ?? ['png', 'svg', 'html'];
      const out: ExportResult = {};
      const paper = eo.style === 'paper' ? paperFigure(fig, eo.columns ?? 1) : null;
      for (const format of formats) {
        const file = `${base}.${format}`;
        if (format === 'html') {
          await writeHtml(fig, file, eo);
        } else if (paper) {
          await writeFileAtomic(file, await toImage(paper.figure, { format, width: paper.width, height: paper.height, scale: paper.scale }));
        } else {
          await writeFileAtomic(file, await toImage(fig, { format, width: eo.width, height: eo.height, scale: eo.scale }));
        }
        out[format] = file;
      }
      if (paper && formats.some((f) => f !== 'html')) {
        out.caption = `${base}.txt`;
        await writeFileAtomic(out.caption, `${figureCaption(fig)}\n`);
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await queue.catch(() => undefined);
      await browser.close();
    },
  };
  return exporter;
}

/** Writes the HTML page of a figure (responsive, legend below) and, in 'directory' mode, plotly.min.js beside it. */
async function writeHtml(fig: PlotlyFigure, file: string, o: Pick<ExportOptions, 'width' | 'height' | 'plotlyJs'>): Promise<void> {
  const mode = o.plotlyJs ?? 'directory';
  if (mode === 'directory') writePlotlyJsBeside(path.dirname(file));
  await writeFileAtomic(file, figureToHtml(o.width ? fig : notebookFigure(fig), { width: o.width, height: o.height, plotlyJs: mode }));
}

/**
 * Exports a figure to `<basePath>.png` (at `scale`, default 2), `<basePath>.svg` and
 * `<basePath>.html` (offline; plotly.min.js once beside it, or inlined with plotlyJs 'inline'), each written atomically.
 * HTML is written first and never needs Chromium; when PNG/SVG are requested and no Chromium is
 * found, {@link ChromiumNotFoundError} is thrown after the HTML was written. Pass `exporter` to
 * reuse one browser for many figures (see {@link createFigureExporter} / {@link exportFigures}).
 */
export async function exportFigure(fig: PlotlyFigure, basePath: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const base = stripExt(basePath);
  const formats = opts.formats ?? ['png', 'svg', 'html'];
  const out: ExportResult = {};
  if (formats.includes('html')) {
    out.html = `${base}.html`;
    await writeHtml(fig, out.html, opts);
  }
  const images = formats.filter((f): f is 'png' | 'svg' => f !== 'html');
  if (images.length === 0) return out;
  const exporter = opts.exporter ?? (await createFigureExporter({ chromiumPath: opts.chromiumPath }));
  try {
    Object.assign(out, await exporter.export(fig, base, { ...opts, formats: images }));
  } finally {
    if (!opts.exporter) await exporter.close();
  }
  return out;
}

/**
 * Exports several figures (`{ name: figure }`) into `dir` (`<dir>/<name>.<format>`) with a single
 * browser. Returns the written paths per figure name.
 */
export async function exportFigures(figures: Record<string, PlotlyFigure>, dir: string, opts: ExportOptions = {}): Promise<Record<string, ExportResult>> {
  const needsBrowser = (opts.formats ?? ['png', 'svg', 'html']).some((f) => f !== 'html');
  const exporter = opts.exporter ?? (needsBrowser ? await createFigureExporter({ chromiumPath: opts.chromiumPath }) : undefined);
  try {
    const out: Record<string, ExportResult> = {};
    for (const [name, fig] of Object.entries(figures)) {
      out[name] = await exportFigure(fig, path.join(dir, name), { ...opts, exporter });
    }
    return out;
  } finally {
    if (exporter && !opts.exporter) await exporter.close();
  }
}
