import type { LearningRateSchedule } from './constant';
import { checkIteration, requirePositive, requirePositiveInteger } from './validate';

/** The ResNet paper's CIFAR-10 schedule (He et al. 2015, §4.2): 0.1, divided by 10 at 32k and 48k iterations. */
export const RESNET_PAPER_STEP = { lr: 0.1, milestones: [32000, 48000], gamma: 0.1 } as const;

/**
 * Step decay: lr * gamma^k where k is the number of milestones <= iteration. Equal to PyTorch's
 * `MultiStepLR(optimizer, milestones, gamma)` stepped once per iteration (the learning rate of
 * iteration i is the one in effect after i scheduler steps).
 * @param options.lr initial learning rate (> 0)
 * @param options.milestones strictly increasing iterations (integers >= 1) at which lr is multiplied by gamma
 * @param options.gamma multiplicative factor (> 0)
 * @throws RangeError on a non-positive lr/gamma or milestones that are not increasing integers >= 1
 */
export function stepDecay(options: { lr: number; milestones: readonly number[]; gamma: number }): LearningRateSchedule {
  const { lr, gamma } = options;
  const milestones = [...options.milestones];
  requirePositive('lr', lr);
  requirePositive('gamma', gamma);
  milestones.forEach((m, i) => {
    requirePositiveInteger(`milestones[${i}]`, m);
    if (i > 0 && m <= milestones[i - 1]) {
      throw new RangeError(`milestones must be strictly increasing, got ${JSON.stringify(milestones)}`);
    }
  });
  return (iteration: number) => {
    checkIteration(iteration);
    let k = 0;
    while (k < milestones.length && milestones[k] <= iteration) k++;
    return lr * gamma ** k;
  };
}
