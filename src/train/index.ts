export * from './engine';
export * from './sgd';
export * from './step';
export * from './config';
export * from './loop';
export * from './throughput';
