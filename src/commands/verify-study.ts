/** `verify-study`: checks every finished study run against its epoch rows and schedule (src/runs/verify.ts). */
import { verificationText, verifyStudyStore } from '../runs/verify';
import { redactLocation, resolveResultsLocation, STUDY_RESULTS_PATH } from '../store';
import { RESULTS, str, type Command } from './options';

export const verifyStudy: Command = {
  name: 'verify-study',
  synopsis: '  verify-study [--results FILE|URL]   checks the shipped study (studies/resnet20-cifar10.sqlite): summaries vs epoch rows, learning rates vs schedules, full data, distinct seeds',
  options: RESULTS,
  async run(v) {
    const given = str(v.results);
    const location = given ? resolveResultsLocation(given) : STUDY_RESULTS_PATH;
    const r = await verifyStudyStore(location);
    verificationText(r, redactLocation(location)).forEach((l) => console.log(l));
    if (r.problems.length) process.exitCode = 1;
  },
};
