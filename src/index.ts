/** Public API of the workspace, used by notebooks (tslab) and scripts. */
export * from './schedules';
export * from './data';
export * from './engine';
export * from './model';
export * from './train';
export * from './store';
export * from './runs';
export * from './analysis';

import { autoRegisterNotebookFormatters } from './analysis/notebook-display';
// Inside a tslab kernel, a cell's danfo frame or Plotly figure value is shown as a table / chart.
autoRegisterNotebookFormatters();
