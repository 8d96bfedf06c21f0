/**
 * Static images of notebook figures: a PNG rendered by the export's headless Chromium (Plotly's
 * own `toImage`, so it is the same drawing as the interactive chart), synchronously, so that a
 * cell's figure output carries its picture at once (`showFigure` and a cell's value are
 * synchronous). The browser lives in a worker thread and is started by the first figure of a
 * kernel session (a few seconds); each later figure takes a fraction of a second. The main thread
 * waits for an answer with `Atomics.wait` and reads it with `receiveMessageOnPort`.
 *
 * Without Chromium (or when rendering fails or takes longer than the timeout) figures are shown
 * without a static image and one line on stderr says why; {@link setStaticFigureImages} turns the
 * images off.
 */
import * as path from 'node:path';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { StaticRenderAnswer, StaticRenderRequest } from './static-worker';
import type { PlotlyFigure } from './types';

/** Width in CSS px of the static image of a figure without a fixed width (the classic notebook's output area is ~990 px). */
export const STATIC_WIDTH = 900;

interface Renderer {
  worker: Worker;
  port: MessagePort;
  done: Int32Array;
}

let renderer: Renderer | undefined;
let off: string | undefined;
let warned = false;

/** Turns the static images of notebook figures on (default) or off for this process. */
export function setStaticFigureImages(enabled: boolean): void {
  off = enabled ? undefined : 'turned off (setStaticFigureImages(false))';
  warned = !enabled;
}

/** Why figures get no static image now (undefined: they do). */
export function staticFigureImagesOff(): string | undefined {
  return off;
}

function disable(reason: string): undefined {
  off = reason;
  if (!warned) process.stderr.write(`note: figures are shown without a static image (${reason}); saved notebooks show them only where trusted\n`);
  warned = true;
  stopStaticRenderer();
  return undefined;
}

function start(): Renderer {
  const flag = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(path.join(__dirname, 'static-worker.js'), { workerData: { flag, port: port2 }, transferList: [port2] });
  worker.unref();
  port1.unref();
  worker.on('error', () => undefined); // reported through the answer's timeout
  return { worker, port: port1, done: new Int32Array(flag) };
}

/**
 * A PNG (base64) of the figure at `width` x `height` CSS px and `scale`, or undefined when static
 * images are off or the rendering failed (then off for the rest of the session, with one line on
 * stderr). Blocks the calling thread while Chromium draws (at most `timeoutMs`, default 60 s: the
 * first call starts Chromium).
 */
export function staticFigurePng(fig: PlotlyFigure, size: { width: number; height: number; scale?: number }, timeoutMs = 60_000): string | undefined {
  if (off) return undefined;
  try {
    renderer ??= start();
  } catch (err) {
    return disable(`the renderer could not start: ${(err as Error).message}`);
  }
  const r = renderer;
  Atomics.store(r.done, 0, 0);
  const req: StaticRenderRequest = { fig: JSON.parse(JSON.stringify(fig)) as PlotlyFigure, width: size.width, height: size.height, scale: size.scale ?? 1 };
  r.worker.postMessage(req);
  if (Atomics.wait(r.done, 0, 0, timeoutMs) === 'timed-out') return disable(`Chromium took longer than ${Math.round(timeoutMs / 1000)} s`);
  const got = receiveMessageOnPort(r.port)?.message as StaticRenderAnswer | undefined;
  if (!got) return disable('the renderer gave no answer');
  if ('error' in got) return disable(got.error.length > 240 ? `${got.error.slice(0, 240)}…` : got.error);
  return got.png;
}

/** Stops the renderer's worker and its Chromium (the next figure starts them again unless images are off). */
export function stopStaticRenderer(): void {
  const r = renderer;
  renderer = undefined;
  if (r) r.worker.postMessage({ close: true });
}
