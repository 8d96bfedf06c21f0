/**
 * Training checkpoints: the complete state of a run after an epoch, as bytes, so that the next
 * epoch can start in another process (or on another machine) as if nothing had happened.
 *
 * Contents: every trainable variable (weights, batch-norm gamma/beta), every batch-norm running
 * statistic, every SGD momentum buffer, the epoch and iteration counters, the state of both
 * random streams (data order, augmentation), and the thread count when > 1 (the data-parallel
 * trainer's replicas hold identical copies; a run resumes with the count that trained it). Timing (training seconds) is not part of it: it is
 * not deterministic, and the results store keeps it in the epoch rows.
 *
 * Layout (little-endian): "WSCK" | u32 format | u32 header bytes | header JSON (UTF-8, padded with
 * spaces to a multiple of 4) | float32 tensor data in header order. Tensors are identified by
 * position and shape (tfjs variable names carry process-dependent suffixes), so a checkpoint is
 * byte-identical for identical training states.
 */
import * as crypto from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { RngState } from '../data/random';
import type { TrainState } from './step';

/** Version of the byte layout; a checkpoint of another version is refused. */
export const CHECKPOINT_FORMAT = 1;
const MAGIC = 0x4b435357; // "WSCK" read as u32 LE

/** Where a run stands after an epoch, besides its tensors. */
export interface CheckpointPosition {
  /** Epochs finished (1-based number of the last one). */
  epoch: number;
  /** Cumulative optimiser iterations. */
  iteration: number;
  /** States of the data-order and augmentation generators after that epoch. */
  rng: { order: RngState; augment: RngState };
  /** Threads that trained the run (written only when > 1; read back as 1 when absent). */
  threads?: number;
}

interface Header extends CheckpointPosition {
  depth: number;
  shapes: { trainable: number[][]; running: number[][]; velocity: number[][] };
}

/** A checkpoint that cannot be used: wrong format, truncated, or for another model. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** SHA-256 (hex) of checkpoint bytes: stored beside them and verified on load. */
export function checkpointHash(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

function groups(state: TrainState) {
  return { trainable: state.model.trainable, running: state.model.runningStatistics, velocity: state.optimizer.velocities };
}

/**
 * Serialises a training state.
 * @param state model and optimiser (tensors are read with dataSync)
 * @param depth ResNet depth the state belongs to (checked on restore)
 * @returns checkpoint bytes (about 2.2 MB for ResNet-20: 269,722 weights + as many momentum values)
 */
export function saveCheckpoint(state: TrainState, depth: number, position: CheckpointPosition): Uint8Array {
  const g = groups(state);
  const { threads, ...rest } = position;
  const header: Header = {
    ...rest, ...(threads !== undefined && threads > 1 ? { threads } : {}), depth,
    shapes: { trainable: g.trainable.map((v) => v.shape), running: g.running.map((v) => v.shape), velocity: g.velocity.map((v) => v.shape) },
  };
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - (json.length % 4)) % 4;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const tensors = [...g.trainable, ...g.running, ...g.velocity];
  const floats = tensors.reduce((s, v) => s + v.size, 0);
  const out = new Uint8Array(12 + json.length + 4 * floats);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, CHECKPOINT_FORMAT, true);
  view.setUint32(8, json.length, true);
  out.set(json, 12);
  const data = new Float32Array(out.buffer, 12 + json.length, floats);
  let offset = 0;
  for (const v of tensors) {
    data.set(v.dataSync() as Float32Array, offset);
    offset += v.size;
  }
  return out;
}

/**
 * Restores a training state from checkpoint bytes (assigning every variable in place).
 * @returns the position (epoch, iteration, random streams) to continue from
 * @throws CheckpointError when the bytes are not a checkpoint of this format, are truncated, or do
 *   not fit the model (depth or any tensor shape differs)
 */
export function restoreCheckpoint(bytes: Uint8Array, state: TrainState, depth: number): CheckpointPosition {
  const { header, copy, headerBytes } = readHeader(bytes);
  if (header.depth !== depth) throw new CheckpointError(`checkpoint of ResNet-${header.depth}, the run is ResNet-${depth}`);
  const g = groups(state);
  const tensors = [...g.trainable, ...g.running, ...g.velocity];
  const shapes = [...header.shapes.trainable, ...header.shapes.running, ...header.shapes.velocity];
  if (shapes.length !== tensors.length) throw new CheckpointError(`checkpoint has ${shapes.length} tensors, the model ${tensors.length}`);
  const floats = tensors.reduce((s, v) => s + v.size, 0);
  if (copy.length !== 12 + headerBytes + 4 * floats) throw new CheckpointError(`checkpoint has ${copy.length} bytes, expected ${12 + headerBytes + 4 * floats}`);
  const data = new Float32Array(copy.buffer, 12 + headerBytes, floats);
  let offset = 0;
  tensors.forEach((v, i) => {
    if (shapes[i].join('x') !== v.shape.join('x')) throw new CheckpointError(`checkpoint tensor ${i} has shape [${shapes[i].join(', ')}], the model [${v.shape.join(', ')}]`);
  });
  tf.tidy(() => {
    for (const v of tensors) {
      v.assign(tf.tensor(data.slice(offset, offset + v.size), v.shape, 'float32'));
      offset += v.size;
    }
  });
  return { epoch: header.epoch, iteration: header.iteration, rng: header.rng, threads: header.threads ?? 1 };
}

/**
 * Threads that trained the run of a checkpoint (1 for single-threaded runs and checkpoints written
 * before the option existed), read from its header without touching any tensor.
 * @throws CheckpointError as restoreCheckpoint, for a bad magic, format or header
 */
export function checkpointThreads(bytes: Uint8Array): number {
  return readHeader(bytes).header.threads ?? 1;
}

function readHeader(bytes: Uint8Array): { header: Header; copy: Uint8Array; headerBytes: number } {
  if (bytes.length < 12) throw new CheckpointError(`checkpoint too short (${bytes.length} bytes)`);
  const copy = new Uint8Array(bytes); // aligned private copy
  const view = new DataView(copy.buffer);
  if (view.getUint32(0, true) !== MAGIC) throw new CheckpointError('not a checkpoint (bad magic)');
  const format = view.getUint32(4, true);
  if (format !== CHECKPOINT_FORMAT) throw new CheckpointError(`checkpoint format ${format}, this code reads ${CHECKPOINT_FORMAT}`);
  const headerBytes = view.getUint32(8, true);
  if (12 + headerBytes > copy.length) throw new CheckpointError('checkpoint truncated in its header');
  try {
    return { header: JSON.parse(Buffer.from(copy.subarray(12, 12 + headerBytes)).toString('utf8')) as Header, copy, headerBytes };
  } catch (e) {
    throw new CheckpointError(`checkpoint header is not JSON: ${(e as Error).message}`);
  }
}
