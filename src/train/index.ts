export * from './sgd';
export * from './step';
export * from './config';
export * from './loop';
export * from './records';
export * from './checkpoint';
export { createParallelTrainer, copyWeightsTo, copyStateTo, loadStateFrom, type ParallelTrainer, type ParallelTrainerOptions } from './parallel';
export * from './throughput';
