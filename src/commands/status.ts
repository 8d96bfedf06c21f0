/** `status`: per protocol and arm of a results store, finished, running (worker, heartbeat), waiting, failed. */
import { resolveResultsLocation, statusText, storeStatus } from '../store';
import { RESULTS, str, type Command } from './options';

export const status: Command = {
  name: 'status',
  synopsis: '  status [--results FILE|URL]    per protocol and arm: finished, running (worker, last heartbeat, epoch), waiting, failed',
  options: RESULTS,
  async run(v) {
    console.log(statusText(await storeStatus(resolveResultsLocation(str(v.results)))));
  },
};
