export * from './stats';
export * from './charts';
