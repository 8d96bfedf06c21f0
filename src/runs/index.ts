export * from './protocols';
export * from './prepare';
export * from './execute';
export * from './runner';
export * from './settings';
export * from './protocol-file';
export * from './verify';
export * from './kernel-signal';
