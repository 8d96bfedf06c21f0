/** `export-csv`: runs.csv and epochs.csv of a results store, each written atomically. */
import * as path from 'node:path';
import { exportCsv as write, resolveResultsLocation } from '../store';
import { RESULTS, str, type Command } from './options';

export const exportCsv: Command = {
  name: 'export-csv',
  synopsis: '  export-csv [--results FILE|URL] [--out DIR]',
  options: { ...RESULTS, out: { type: 'string', value: 'DIR', help: 'folder of runs.csv and epochs.csv (default reports)' } },
  async run(v) {
    const out = path.resolve(str(v.out) ?? 'reports');
    const files = await write(resolveResultsLocation(str(v.results)), out);
    files.forEach((f) => console.log(`wrote ${f}`));
  },
};
