export * from './stats';
export * from './charts';
export * from './results';
export * from './model';
export * from './format';
export * from './text';
export * from './frames';
export * from './report/index';
