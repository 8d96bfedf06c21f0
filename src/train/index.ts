export * from './sgd';
export * from './step';
export * from './config';
export * from './loop';
export { createParallelTrainer, copyWeightsTo, type ParallelTrainer, type ParallelTrainerOptions } from './parallel';
