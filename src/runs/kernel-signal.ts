/**
 * Kernel > Interrupt in a notebook: inside the tslab kernel (patched, patches/tslab+1.0.22.patch)
 * every cell has an AbortSignal that SIGINT aborts. `runProtocol` without a `signal` of its own
 * takes it, so interrupting a training cell stops every run within one iteration and releases it,
 * and the kernel waits for that before it ends the cell (no epoch line of it in the next cell).
 */

/** An error that says a protocol was interrupted (the kernel shows its message as `Interrupted`). */
export class Interrupted extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Interrupted';
  }
}

/**
 * The running cell's interrupt signal when this code runs in a tslab kernel whose patch provides
 * one, else undefined (the CLI, tests, a plain node process).
 */
export function kernelInterruptSignal(): AbortSignal | undefined {
  if (!(globalThis as { __tslab__?: unknown }).__tslab__) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const tslab = require('tslab') as { interruptSignal?: () => AbortSignal };
    return typeof tslab.interruptSignal === 'function' ? tslab.interruptSignal() : undefined;
  } catch {
    return undefined;
  }
}
