export * from './types';
export * from './store';
export * from './protocols';
export * from './prepare';
export * from './execute';
export * from './runner';
export * from './csv';
export * from './protocol-file';
