/** `analyze`: the per-arm table, tests and survival analysis of a results store, as text. */
import { loadResults } from '../analysis/results';
import { analysisText } from '../analysis/text';
import { analyzeResults } from '../analysis/model';
import { loadProtocolFile } from '../runs/protocol-file';
import { redactLocation, resolveResultsLocation } from '../store';
import { MIXED, PROTOCOL, RESULTS, str, type Command, type Values } from './options';

/**
 * Prints the analysis of the store's runs (of `protocol`, or of --protocol-file's protocol).
 * @throws Error naming the store and the protocols it has when `protocol` has no runs there
 */
export async function analyzeFromCommandLine(v: Values, protocol?: string): Promise<void> {
  const file = resolveResultsLocation(str(v.results));
  const protocolFile = str(v['protocol-file']);
  if (protocolFile) protocol = loadProtocolFile(protocolFile).name;
  const { runs, epochs, notes, protocols } = await loadResults(file, { protocol, allowMixedConfigs: v['allow-mixed-configs'] as boolean | undefined });
  if (protocol && runs.length === 0) {
    throw new Error(`${redactLocation(file)}: no runs of protocol "${protocol}" (the store has ${protocols.length ? `runs of: ${protocols.join(', ')}` : 'no runs'})`);
  }
  notes.forEach((n) => console.log(`note: ${n}`));
  console.log(`results: ${redactLocation(file)}`);
  console.log(analysisText(analyzeResults(runs, epochs)));
}

export const analyze: Command = {
  name: 'analyze',
  synopsis: '  analyze [--protocol NAME | --protocol-file FILE.json] [--results FILE|URL] [--allow-mixed-configs]',
  options: { ...PROTOCOL, ...RESULTS, ...MIXED },
  run: (v) => analyzeFromCommandLine(v, str(v.protocol)),
};
