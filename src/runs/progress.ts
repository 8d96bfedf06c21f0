/**
 * What a running protocol prints: one line per epoch, and within epochs either a redrawn progress
 * bar (a terminal) or a line per quarter epoch (logs, notebooks).
 */
import type { RunConfig } from '../train/config';
import type { EpochRecord } from '../store/types';

/** An in-epoch progress report of a run. */
export interface EpochProgress {
  epoch: number;
  iterationInEpoch: number;
  iterationsPerEpoch: number;
  loss: number;
}

/** The line printed when an epoch ends (accuracies in percent, lr of the epoch's last iteration). */
export function formatEpoch(r: EpochRecord, c: RunConfig): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  return `[${c.protocol} ${c.arm} seed ${c.seed}] epoch ${r.epoch}/${c.maxEpochs}  last lr ${r.learningRate.toPrecision(3)}  ` +
    `train loss ${r.trainLoss.toFixed(3)} acc ${pct(r.trainAccuracy)}  val acc ${pct(r.validationAccuracy)}  ` +
    `test acc ${pct(r.testAccuracy)}  ${r.trainSeconds.toFixed(1)} s train / ${r.totalSeconds.toFixed(1)} s total`;
}

/**
 * Progress output of several runs at once.
 * @param bar redraw one status line (a TTY) instead of printing quarter-epoch lines
 */
export function progressPrinter(bar: boolean, log: (line: string) => void) {
  const lines = new Map<string, string>();
  const quarters = new Map<string, number>();
  const clear = () => {
    if (bar) process.stdout.write('\r\x1b[K');
  };
  return {
    clear,
    /** Logs a line without garbling the bar. */
    line(text: string) {
      clear();
      log(text);
    },
    done(id: string) {
      lines.delete(id);
      clear();
    },
    update(id: string, c: RunConfig, p: EpochProgress) {
      if (!bar) {
        const q = Math.floor((4 * p.iterationInEpoch) / p.iterationsPerEpoch);
        const key = `${id}#${p.epoch}`;
        if (q > 0 && q < 4 && (quarters.get(key) ?? 0) < q) {
          quarters.set(key, q);
          log(`[${c.protocol} ${c.arm} seed ${c.seed}] epoch ${p.epoch}: ${p.iterationInEpoch}/${p.iterationsPerEpoch} iterations, train loss ${p.loss.toFixed(3)}`);
        }
        return;
      }
      const width = 20;
      const filled = Math.round((width * p.iterationInEpoch) / p.iterationsPerEpoch);
      lines.set(id, `${c.arm} s${c.seed} e${p.epoch} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.iterationInEpoch}/${p.iterationsPerEpoch} loss ${p.loss.toFixed(3)}`);
      const text = [...lines.values()].join(' | ');
      process.stdout.write(`\r\x1b[K${text.slice(0, (process.stdout.columns || 120) - 1)}`);
    },
  };
}
