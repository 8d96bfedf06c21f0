#!/usr/bin/env node
/**
 * Command-line entry of the workspace: one module per command in src/commands/ (start, experiment,
 * analyze, status, copy-store, export-csv, export-charts, report, download, protocols, verify-study),
 * each declaring its options; `--help` is generated from them. Errors: a usage error is one line and
 * exit 2; any other error one line (a file-system error names the user's path) and exit 1.
 */
import * as path from 'node:path';
import { COMMANDS, commandHelp, parseCommandLine, UsageError, usageText } from './commands';

async function main(argv: string[]): Promise<void> {
  const { command, values: v, rest } = parseCommandLine(argv, COMMANDS);
  if (v.version) {
    const pkg = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
    const own = require(path.join(__dirname, '..', 'package.json')) as { name: string; version: string };
    console.log(`${own.name} ${own.version}; @tensorflow/tfjs ${pkg('@tensorflow/tfjs')}, @tensorflow/tfjs-backend-wasm ${pkg('@tensorflow/tfjs-backend-wasm')}, node ${process.version}`);
    return;
  }
  if (!command) {
    console.log(usageText());
    if (!v.help) process.exitCode = 2;
    return;
  }
  if (v.help) {
    console.log(commandHelp(command));
    return;
  }
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
  await command.run(v);
}

main(process.argv.slice(2)).catch((e: Error) => {
  if (e instanceof UsageError) {
    console.error(`error: ${e.message}\n(run with --help for usage)`);
    process.exit(2);
  }
  const fsError = e as NodeJS.ErrnoException;
  if (fsError.code && fsError.path && fsError.syscall) {
    // a file-system error: name the user's folder or file, not a temporary file of an atomic write
    const isTemp = /\.tmp/.test(path.basename(fsError.path));
    const where = isTemp ? `folder ${path.dirname(fsError.path)}` : fsError.path;
    const verb = ['open', 'rename', 'mkdir', 'write', 'fsync'].includes(fsError.syscall) ? 'cannot write' : `cannot ${fsError.syscall}`;
    console.error(`error: ${verb} ${where}: ${fsError.code}`);
  } else {
    console.error(`error: ${e.message}`);
  }
  if (process.env.DEBUG) console.error(e.stack);
  process.exit(1);
});
