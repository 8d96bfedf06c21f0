/** `protocols [--runs NAME]`: the protocols, or the runs of one with their --run-index. */
import { loadCifar10 } from '../data/cifar10';
import { runId } from '../train/config';
import { expandProtocol, getProtocol, PROTOCOLS } from '../runs/protocols';
import { loadProtocolFile } from '../runs/protocol-file';
import { protocolDataFolder } from '../runs/settings';
import { DATA, OVERRIDES, overridesFrom, PROTOCOL, str, type Command, type Values } from './options';

/** `protocols --runs NAME`: the runs of a protocol's expansion with their --run-index (needs the data: run ids hash the dataset). */
function listProtocolRuns(v: Values, name: string): void {
  const file = str(v['protocol-file']);
  const protocol = file ? loadProtocolFile(file) : getProtocol(name);
  const ds = loadCifar10(protocolDataFolder(protocol, str(v.data)).dir);
  const { runs } = expandProtocol(protocol, ds.manifest.name, ds.train.count, overridesFrom(v), ds.test.count);
  console.log(`protocol ${protocol.name}: ${runs.length} runs (--run-index 0..${runs.length - 1}) on ${ds.manifest.name}`);
  runs.forEach((c, i) => console.log(`${i}\t${c.arm}\tseed ${c.seed}\t${runId(c)}`));
}

export const protocols: Command = {
  name: 'protocols',
  synopsis: '  protocols [--runs NAME]        list the protocols / the runs of one with their --run-index (give the workers\' --seeds, --arms, ... too)',
  options: {
    runs: { type: 'string', value: 'NAME', help: 'the runs of this protocol with their --run-index' },
    'protocol-file': PROTOCOL['protocol-file'], ...OVERRIDES, ...DATA,
  },
  run(v) {
    const runs = str(v.runs);
    if (runs) return listProtocolRuns(v, runs);
    for (const p of Object.values(PROTOCOLS)) {
      console.log(`${p.name}: ${p.description}\n  arms: ${p.arms.map((a) => `${a.name} (${a.description})`).join('; ')}\n  seeds ${p.seeds}, max epochs ${p.maxEpochs}, target ${p.target ?? '-'}${p.stopAtTarget ? ' (stop)' : ''}`);
      p.notes.forEach((n) => console.log(`  note: ${n}`));
    }
  },
};
