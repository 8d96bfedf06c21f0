export * from './layers';
export * from './resnet';
