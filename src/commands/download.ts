/** `download`: the official CIFAR-10 binary archive into data/, verified (md5) and extracted. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { downloadCifar10 } from '../data/download';
import { DOWNLOADED_DATA_DIR } from '../data/locate';
import type { Command } from './options';

export const download: Command = {
  name: 'download',
  synopsis: '  download                       fetch and verify the official CIFAR-10 binary archive into data/',
  options: {},
  async run() {
    if (fs.existsSync(path.join(DOWNLOADED_DATA_DIR, 'test_batch.bin'))) {
      console.log(`already present: ${DOWNLOADED_DATA_DIR}`);
      return;
    }
    let last = 0;
    await downloadCifar10(DOWNLOADED_DATA_DIR, (got, total) => {
      if (got - last > 8e6 || got === total) {
        last = got;
        process.stdout.write(`\rdownloading ${(got / 1e6).toFixed(0)}${total ? ` / ${(total / 1e6).toFixed(0)}` : ''} MB`);
      }
    });
    console.log(`\nverified and extracted to ${DOWNLOADED_DATA_DIR}`);
  },
};
