export * from './random';
export * from './cifar10';
export * from './locate';
export * from './split';
export * from './augment';
export * from './download';
