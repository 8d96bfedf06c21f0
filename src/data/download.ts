/**
 * Download, verification and extraction of the official CIFAR-10 binary archive
 * (https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, md5 c32a1d4ab5d03f1284b67883e8d87530).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadCifar10 } from './cifar10';

export const CIFAR10_ARCHIVE_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_ARCHIVE_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';

/** md5 of a file, streamed. */
export async function md5File(file: string): Promise<string> {
  const hash = crypto.createHash('md5');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Verifies an archive's md5, extracts it with the system `tar` into a temporary folder beside
 * `destDir`, checks the extracted CIFAR-10 files (sizes, md5s, labels: see loadCifar10 unless
 * `verifyContent` is false), then renames the folder into place. Nothing is left under `destDir`
 * when any step fails.
 * @param archive path of the .tar.gz
 * @param expectedMd5 lowercase hex md5 of the archive
 * @param destDir final directory (e.g. data/cifar-10-batches-bin); must not exist yet
 * @param options.innerDir folder inside the archive holding the files (default 'cifar-10-batches-bin')
 * @throws Error naming the archive on an md5 mismatch or a failed extraction, DataFileError on a bad extracted file
 */
export async function verifyAndExtractArchive(
  archive: string, expectedMd5: string, destDir: string,
  options: { innerDir?: string; verifyContent?: boolean } = {},
): Promise<void> {
  const md5 = await md5File(archive);
  if (md5 !== expectedMd5) throw new Error(`${archive}: md5 is ${md5}, expected ${expectedMd5} (incomplete or altered download)`);
  if (fs.existsSync(destDir)) throw new Error(`${destDir}: already exists; remove it to extract again`);
  const parent = path.dirname(destDir);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, '.extract-'));
  try {
    const r = spawnSync('tar', ['-xzf', archive, '-C', tmp], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`${archive}: extraction with tar failed: ${r.error?.message ?? r.stderr}`);
    const inner = path.join(tmp, options.innerDir ?? 'cifar-10-batches-bin');
    if (!fs.existsSync(inner)) throw new Error(`${archive}: has no folder ${options.innerDir ?? 'cifar-10-batches-bin'}/`);
    if (options.verifyContent !== false) loadCifar10(inner);
    fs.renameSync(inner, destDir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Downloads the official archive to `<parent of destDir>/cifar-10-binary.tar.gz` (resumable: a
 * complete archive already there is reused), verifies and extracts it into destDir.
 * @param onProgress called with bytes received and total bytes (0 when unknown)
 */
export async function downloadCifar10(destDir: string, onProgress?: (received: number, total: number) => void): Promise<void> {
  const archive = path.join(path.dirname(destDir), 'cifar-10-binary.tar.gz');
  fs.mkdirSync(path.dirname(destDir), { recursive: true });
  if (!fs.existsSync(archive) || (await md5File(archive)) !== CIFAR10_ARCHIVE_MD5) {
    const res = await fetch(CIFAR10_ARCHIVE_URL);
    if (!res.ok || !res.body) throw new Error(`download of ${CIFAR10_ARCHIVE_URL} failed: HTTP ${res.status}`);
    const total = Number(res.headers.get('content-length') ?? 0);
    const part = `${archive}.part`;
    const out = fs.createWriteStream(part);
    let received = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      onProgress?.(received, total);
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    fs.renameSync(part, archive);
  }
  await verifyAndExtractArchive(archive, CIFAR10_ARCHIVE_MD5, destDir);
}
