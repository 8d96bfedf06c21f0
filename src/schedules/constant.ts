import { checkIteration, requirePositive } from './validate';

/** A learning-rate schedule: iteration (0-based optimizer step) -> learning rate. */
export type LearningRateSchedule = (iteration: number) => number;

/**
 * Constant learning rate.
 * @param options.lr learning rate (> 0)
 * @returns schedule with lr at every iteration
 * @throws RangeError if lr is not a finite number > 0
 */
export function constantLr(options: { lr: number }): LearningRateSchedule {
  const { lr } = options;
  requirePositive('lr', lr);
  return (iteration: number) => {
    checkIteration(iteration);
    return lr;
  };
}
