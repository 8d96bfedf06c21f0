export * from './stats';
export * from './charts';
export * from './results';
export * from './summary';
export * from './frames';
export * from './analyze';
export * from './report';
export * from './notebook-display';
