/**
 * `npm run bench:store [-- URL_OR_FILE ...]`: what the results store costs a training epoch.
 * Measures, for ResNet-20: the checkpoint's size and the time to take it (saveCheckpoint), and on each
 * store (a temporary SQLite file, plus any location given, e.g. a postgres:// URL) the time of a claim,
 * a lease renewal and an epoch write with its checkpoint (medians of repeated operations). The
 * overhead per epoch is (epoch write + checkpoint + renewals per epoch x renewal + claim / epochs per
 * run) as a share of one training epoch (--epoch-seconds, default 300 s: 45,000 images at ~150
 * images/s on one core, README's figure). Last line: one JSON object.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectEngine } from '../engine/engine';
import { createTrainState } from '../train/step';
import { saveCheckpoint } from '../train/checkpoint';
import { openResultsStore, redactLocation, workerIdentity } from '../store';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const epochArg = args.indexOf('--epoch-seconds');
  const epochSeconds = epochArg >= 0 ? Number(args.splice(epochArg, 2)[1]) : 300;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-bench-store-'));
  const locations = [path.join(tmp, 'bench.sqlite'), ...args];
  await selectEngine({ backend: 'wasm' });
  const state = createTrainState({ depth: 20, seed: 0 });
  const takes: number[] = [];
  let checkpoint = new Uint8Array();
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    checkpoint = saveCheckpoint(state, 20, { epoch: 1, iteration: 352, rng: { order: { a: 1, spare: null }, augment: { a: 2, spare: 0.5 } } });
    takes.push(ms(t0));
  }
  const checkpointMs = median(takes);
  console.log(`checkpoint of ResNet-20: ${(checkpoint.length / 1e6).toFixed(2)} MB, taken in ${checkpointMs.toFixed(1)} ms (median of 5)`);
  const heartbeatSeconds = 30;
  const results: Record<string, unknown>[] = [];
  for (const location of locations) {
    const store = await openResultsStore(location);
    const worker = workerIdentity();
    const claims: number[] = [];
    const writes: number[] = [];
    const renewals: number[] = [];
    for (let run = 0; run < 5; run++) {
      const runId = `bench/${run}/${Date.now()}`;
      let t0 = process.hrtime.bigint();
      const claim = await store.claimRun({ runId, protocol: 'bench', arm: 'a', seed: run, config: {}, configHash: 'b', target: null, backend: 'wasm', versions: {}, codeVersion: null }, worker, { leaseSeconds: 120 });
      claims.push(ms(t0));
      if (!claim.claimed) throw new Error(claim.reason);
      for (let epoch = 1; epoch <= 5; epoch++) {
        t0 = process.hrtime.bigint();
        await store.recordEpoch(claim.lease, {
          runId, epoch, iteration: epoch * 352, learningRate: 0.1, trainLoss: 1, trainAccuracy: 0.5, validationLoss: 1, validationAccuracy: 0.5,
          testLoss: 1, testAccuracy: 0.5, trainSeconds: epoch, totalSeconds: epoch, trainCpuSeconds: epoch, totalCpuSeconds: epoch,
        }, { epochsCompleted: epoch }, checkpoint);
        writes.push(ms(t0));
        t0 = process.hrtime.bigint();
        await store.renewLease(claim.lease);
        renewals.push(ms(t0));
      }
      await store.finishRun(claim.lease, { status: 'completed' });
    }
    await store.close();
    const [claimMs, writeMs, renewMs] = [median(claims), median(writes), median(renewals)];
    const perEpochMs = writeMs + checkpointMs + (epochSeconds / heartbeatSeconds) * renewMs + claimMs / 90;
    const share = perEpochMs / (epochSeconds * 1000);
    const name = location === locations[0] ? 'SQLite (temporary file)' : redactLocation(location);
    console.log(`${name}: claim ${claimMs.toFixed(1)} ms, lease renewal ${renewMs.toFixed(1)} ms, epoch write with checkpoint ${writeMs.toFixed(1)} ms; ` +
      `overhead ${perEpochMs.toFixed(0)} ms per ${epochSeconds} s epoch = ${(100 * share).toFixed(3)}%`);
    results.push({ store: name, claimMs, renewMs, epochWriteMs: writeMs, overheadPerEpochMs: perEpochMs, overheadShare: share });
  }
  state.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(JSON.stringify({ checkpointBytes: checkpoint.length, checkpointMs, epochSeconds, heartbeatSeconds, stores: results }));
}

main().catch((e: Error) => {
  console.error(`error: ${e.message}`);
  process.exit(1);
});
