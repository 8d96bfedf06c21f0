/**
 * Worker thread of static.ts: holds one headless Chromium (the export's {@link createFigureExporter})
 * and renders each requested figure to a PNG. Every answer goes to the main thread's MessagePort,
 * then the shared flag is set and notified, so that the main thread, blocked in `Atomics.wait`,
 * reads it synchronously with `receiveMessageOnPort`.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { createFigureExporter, type FigureExporter } from './export';
import type { PlotlyFigure } from './types';

/** A render request: the figure and the image size in CSS px, the PNG's pixel density. */
export interface StaticRenderRequest {
  fig: PlotlyFigure;
  width: number;
  height: number;
  scale: number;
}

/** The answer: base64 PNG, or the error's message. */
export type StaticRenderAnswer = { png: string } | { error: string };

const { flag, port } = workerData as { flag: SharedArrayBuffer; port: MessagePort };
const done = new Int32Array(flag);
let exporter: Promise<FigureExporter> | undefined;

function answer(a: StaticRenderAnswer): void {
  port.postMessage(a);
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
}

parentPort?.on('message', (req: StaticRenderRequest | { close: true }) => {
  if ('close' in req) {
    // closes Chromium, then lets the thread end
    void (exporter ?? Promise.resolve(undefined)).then((e) => e?.close()).catch(() => undefined).finally(() => parentPort?.close());
    return;
  }
  exporter ??= createFigureExporter();
  exporter
    .then((e) => e.toImage(req.fig, { format: 'png', width: req.width, height: req.height, scale: req.scale }))
    .then((b) => answer({ png: b.toString('base64') }), (err: Error) => answer({ error: err.message.split('\n')[0] }));
});
