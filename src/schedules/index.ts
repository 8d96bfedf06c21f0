export * from './constant';
export * from './step';
export * from './cosine';
