/**
 * The command line's commands, one module each, in the order of the overall usage; the usage is
 * generated from their synopses (`node dist/cli.js --help`), each command's own from its options
 * (`node dist/cli.js COMMAND --help`).
 */
import { analyze } from './analyze';
import { copyStore } from './copy-store';
import { download } from './download';
import { experiment } from './experiment';
import { exportCsv } from './export-csv';
import type { Command } from './options';
import { protocols } from './protocols';
import { exportCharts, report } from './report';
import { start } from './start';
import { status } from './status';
import { verifyStudy } from './verify-study';

export { parseCommandLine, commandHelp, UsageError, type Command, type Values } from './options';

/** Every command, in the order of the overall usage. */
export const COMMANDS: readonly Command[] = [start, experiment, analyze, status, copyStore, exportCsv, exportCharts, report, download, protocols, verifyStudy];

/** `node dist/cli.js --help`: every command's synopsis and the options shared by several. */
export function usageText(): string {
  return `usage: node dist/cli.js <command> [options]
commands:
${COMMANDS.map((c) => c.synopsis).join('\n')}
  --workers 0                    trains in this process instead of worker processes
  --threads N|auto               threads per run (wasm or onednn; N > 1: the data-parallel trainer, results equal up to float rounding,
                                 the same N gives the same run bit for bit). auto (default), resolved once per invocation:
                                 floor(cores / runs trained at once), i.e. 1 while pending runs >= cores, more for the last
                                 runs or a single run. A resumed run keeps the thread count recorded in its checkpoint.
  --version                      versions of the workspace and its engine packages
  COMMAND --help                 the options of one command
--results takes a SQLite file (default data/results.sqlite) or a postgres:// URL; RESULTS_URL sets it too.`;
}
