/**
 * `start` (npm start): trains the quick protocol on the embedded data, prints the analysis, writes
 * reports/quick/ (or --out DIR) and prints the headline of the analysis.
 */
import * as path from 'node:path';
import { headlineText } from '../analysis/text';
import { resolveResultsLocation } from '../store';
import { analyzeFromCommandLine } from './analyze';
import { trainFromCommandLine, TRAINING } from './experiment';
import { MIXED, str, type Command, type Values } from './options';

/**
 * The end of `npm start`: writes the protocol's report and charts into reports/<protocol>/ (or --out DIR; PNG
 * and SVG with Chromium, self-contained HTML without) and prints the headline of the analysis.
 */
async function startReport(v: Values, protocol: string): Promise<void> {
  const report = require('../analysis/report/index') as typeof import('../analysis/report/index');
  const { findChromium } = require('../analysis/charts/export') as typeof import('../analysis/charts/export');
  let formats: ('png' | 'svg' | 'html')[] = ['png', 'svg', 'html'];
  let how = 'PNG and SVG for a paper (Chromium), captions as .txt, interactive HTML';
  try {
    findChromium();
  } catch {
    formats = ['html'];
    how = 'interactive HTML (no Chromium found: install Debian chromium or set CHROMIUM_PATH for PNG/SVG)';
  }
  const out = path.join(str(v.out) ?? path.join('reports', protocol), 'report.md');
  const r = await report.writeReport({ results: resolveResultsLocation(str(v.results)), out, protocol, formats });
  const p = r.analyses.find((a) => a.protocol === protocol);
  const files = Object.values(r.files).flatMap((f) => Object.values(f)).filter((f): f is string => !!f);
  const shown = (f: string) => {
    const rel = path.relative(process.cwd(), f);
    return rel && !rel.startsWith('..') ? rel : f;
  };
  const charts = files.length ? `${files.length} files in ${shown(path.dirname(files[0]))}, ${how}` : r.chartsNote ?? 'none';
  console.log('');
  if (p) console.log(headlineText(p, { report: shown(r.file), charts }));
}

export const start: Command = {
  name: 'start',
  synopsis: '  start [--out DIR]              train the quick protocol on the embedded data, print the analysis, write reports/quick/ (or DIR), print the headline',
  options: { ...TRAINING, out: { type: 'string', value: 'DIR', help: 'folder of the report and charts (default reports/PROTOCOL)' }, ...MIXED },
  async run(v) {
    const t0 = Date.now();
    const protocol = str(v.protocol) ?? 'quick';
    await trainFromCommandLine(v, protocol);
    await analyzeFromCommandLine(v, protocol);
    await startReport(v, protocol);
    console.log(`npm start finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  },
};
