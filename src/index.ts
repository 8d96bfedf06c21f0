/** Public API of the workspace, used by notebooks (tslab) and scripts. */
export * from './schedules';
export * from './data';
export * from './engine';
export * from './model';
export * from './train';
export * from './runs';
export * from './analysis';
