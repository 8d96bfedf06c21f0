import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  loadCifar10, readCifar10File, makeBatch, splitTrainValidation, createRng, locateCifar10,
  verifyAndExtractArchive, CIFAR10_MEAN, CIFAR10_STD, EMBEDDED_DATA_DIR,
} from '../src/data';
import { EMBEDDED, SHARED_CIFAR, tmpDir } from './helpers';
import { requireComponent } from './fixtures/components';

const haveShared = fs.existsSync(path.join(SHARED_CIFAR, 'test_batch.bin'));

test('full CIFAR-10: md5-verified load, known labels, class counts and channel means', { skip: requireComponent('cifar-10', haveShared ? false : `no full CIFAR-10 at ${SHARED_CIFAR}`, __filename) }, () => {
  const ds = loadCifar10(SHARED_CIFAR);
  assert.equal(ds.train.count, 50000);
  assert.equal(ds.test.count, 10000);
  // ../shared/data/README.md known facts
  assert.deepEqual(Array.from(ds.test.labels.subarray(0, 10)), [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
  assert.deepEqual(Array.from(ds.train.labels.subarray(0, 10)), [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
  const batch1 = new Array(10).fill(0);
  for (let i = 0; i < 10000; i++) batch1[ds.train.labels[i]]++;
  assert.deepEqual(batch1, [1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981]);
  const all = new Array(10).fill(0);
  ds.train.labels.forEach((l) => all[l]++);
  assert.deepEqual(all, new Array(10).fill(5000));
  const testCounts = new Array(10).fill(0);
  ds.test.labels.forEach((l) => testCounts[l]++);
  assert.deepEqual(testCounts, new Array(10).fill(1000));
  const sums = [0, 0, 0];
  for (let i = 0; i < ds.train.count; i++) {
    for (let c = 0; c < 3; c++) {
      const base = i * 3072 + c * 1024;
      for (let p = 0; p < 1024; p++) sums[c] += ds.train.images[base + p];
    }
  }
  const means = sums.map((s) => s / (50000 * 1024));
  [125.307, 122.95, 113.865].forEach((m, c) => assert.ok(Math.abs(means[c] - m) < 0.001, `channel ${c} mean ${means[c]}`));
  // the normalisation constants are these means / 255 to 4 decimals
  [125.307, 122.95, 113.865].forEach((m, c) => assert.ok(Math.abs(m / 255 - CIFAR10_MEAN[c]) < 5e-5));

  const { train, validation } = splitTrainValidation(ds.train, 5000, 0);
  assert.equal(train.count, 45000);
  assert.equal(validation.count, 5000);
});

test('embedded subset is the first records of the official files', () => {
  const ds = loadCifar10(EMBEDDED);
  assert.equal(ds.train.count, 5000);
  assert.equal(ds.test.count, 1000);
  assert.deepEqual(Array.from(ds.test.labels.subarray(0, 10)), [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
  assert.deepEqual(Array.from(ds.train.labels.subarray(0, 10)), [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
  assert.equal(path.resolve(EMBEDDED), EMBEDDED_DATA_DIR);
});

function copyEmbedded(): string {
  const dir = tmpDir();
  for (const f of fs.readdirSync(EMBEDDED)) fs.copyFileSync(path.join(EMBEDDED, f), path.join(dir, f));
  return dir;
}

test('bad files give one clear error naming the file', () => {
  let dir = copyEmbedded();
  fs.rmSync(path.join(dir, 'test_batch.bin'));
  assert.throws(() => loadCifar10(dir), /test_batch\.bin: file is missing/);

  dir = copyEmbedded();
  const f = path.join(dir, 'data_batch_1.bin');
  fs.truncateSync(f, 3073 * 10 + 5);
  assert.throws(() => loadCifar10(dir), /data_batch_1\.bin: size is 30735 bytes, expected 15365000/);

  dir = copyEmbedded();
  const bytes = fs.readFileSync(path.join(dir, 'test_batch.bin'));
  bytes[100] ^= 0xff;
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), bytes);
  assert.throws(() => loadCifar10(dir), /test_batch\.bin: md5 is [0-9a-f]{32}, expected 371f65da31ad652f5e24b3699a3e6515/);

  // a label byte > 9 (checked without md5, as for a file outside any manifest)
  const rec = Buffer.alloc(3073 * 2);
  rec[3073] = 12;
  const bad = path.join(dir, 'bad.bin');
  fs.writeFileSync(bad, rec);
  assert.throws(() => readCifar10File(bad), /bad\.bin: record 1 \(byte offset 3073\) has label 12, expected 0-9/);

  const wrong = tmpDir();
  fs.writeFileSync(path.join(wrong, 'readme.txt'), 'x');
  assert.throws(() => loadCifar10(wrong), /data_batch_1\.bin: file is missing .*directory has: readme\.txt/);
});

test('locate: --data, then CIFAR10_DIR, else embedded', () => {
  const dir = tmpDir();
  assert.equal(locateCifar10(dir, {}).source, 'flag');
  assert.equal(locateCifar10(undefined, { CIFAR10_DIR: dir }).source, 'env');
  assert.throws(() => locateCifar10('/nonexistent/x', {}), /--data \/nonexistent\/x: directory does not exist/);
  const r = locateCifar10(undefined, {});
  assert.ok(r.source === 'embedded' || r.source === 'downloaded');
});

test('split is seeded, disjoint and complete', () => {
  const ds = loadCifar10(EMBEDDED);
  // tag each record by its index through the first image byte pattern: compare label multisets
  const a = splitTrainValidation(ds.train, 500, 7);
  const b = splitTrainValidation(ds.train, 500, 7);
  const c = splitTrainValidation(ds.train, 500, 8);
  assert.deepEqual(a.validation.labels, b.validation.labels);
  assert.notDeepEqual(Buffer.from(a.validation.images), Buffer.from(c.validation.images));
  assert.equal(a.train.count + a.validation.count, 5000);
  const counts = new Array(10).fill(0);
  [a.train, a.validation].forEach((s) => s.labels.forEach((l) => counts[l]++));
  const orig = new Array(10).fill(0);
  ds.train.labels.forEach((l) => orig[l]++);
  assert.deepEqual(counts, orig);
  assert.throws(() => splitTrainValidation(ds.train, 5000, 0), /validationCount must be an integer in \(0, 5000\), got 5000/);
});

test('batch: NHWC normalisation, zero padding, crop and flip', () => {
  const raw = { images: new Uint8Array(3072), labels: new Uint8Array([4]), count: 1 };
  for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) raw.images[c * 1024 + p] = (p % 32) * 8 + c; // value depends on x
  const plain = makeBatch(raw, [0]);
  assert.equal(plain.labels[0], 4);
  // pixel (y=3, x=5), channel 1: byte 5*8+1 = 41
  const v = plain.images[(3 * 32 + 5) * 3 + 1];
  assert.ok(Math.abs(v - (41 / 255 - 0.4822) / 0.2435) < 1e-6);
  // augmented: every output value is either a shifted/flipped source value or the padded zero
  const rng = createRng(1);
  let sawPad = false;
  let sawFlip = false;
  for (let k = 0; k < 40; k++) {
    const out = makeBatch(raw, [0], rng).images;
    const x0 = out[0]; // channel 0 at (0,0)
    const pad0 = (0 - CIFAR10_MEAN[0]) / CIFAR10_STD[0];
    if (Math.abs(x0 - pad0) < 1e-6) sawPad = true;
    // with a flip the row decreases in x
    if (out[(16 * 32 + 10) * 3] > out[(16 * 32 + 11) * 3]) sawFlip = true;
  }
  assert.ok(sawPad && sawFlip);
  // same seed, same augmentation
  assert.deepEqual(makeBatch(raw, [0], createRng(9)).images, makeBatch(raw, [0], createRng(9)).images);
});

test('archive: verify-and-extract on a small archive built here, md5 from md5sum', async () => {
  const work = tmpDir();
  const inner = path.join(work, 'src', 'cifar-10-batches-bin');
  fs.mkdirSync(inner, { recursive: true });
  for (const f of fs.readdirSync(EMBEDDED)) fs.copyFileSync(path.join(EMBEDDED, f), path.join(inner, f));
  const archive = path.join(work, 'small.tar.gz');
  execFileSync('tar', ['-czf', archive, '-C', path.join(work, 'src'), 'cifar-10-batches-bin']);
  const md5 = execFileSync('md5sum', [archive], { encoding: 'utf8' }).split(' ')[0];
  const dest = path.join(work, 'data', 'cifar-10-batches-bin');
  await assert.rejects(verifyAndExtractArchive(archive, '0'.repeat(32), dest), /small\.tar\.gz: md5 is [0-9a-f]{32}, expected 0{32}/);
  assert.equal(fs.existsSync(dest), false);
  await verifyAndExtractArchive(archive, md5, dest);
  assert.equal(loadCifar10(dest).test.count, 1000);
  assert.deepEqual(fs.readdirSync(path.join(work, 'data')), ['cifar-10-batches-bin']);
});
