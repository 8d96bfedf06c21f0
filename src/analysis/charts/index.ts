/**
 * Plotly figure builders, export (PNG/SVG via headless Chromium, standalone HTML) and inline
 * notebook display for the workspace's analyses.
 */
export type { PlotlyFigure, PlotlyTrace, PlotlyLayout, CommonFigureOptions } from './types';
export { CHART_PALETTE, armColors, armColor, orderArms, compareArmNames, withAlpha } from './colors';
export { scheduleFigure, scheduleSampleIndices } from './schedule';
export type { ScheduleSeries, ScheduleFigureOptions } from './schedule';
export { validationCurvesFigure, validationSummaryByArm } from './validation';
export type { ValidationCurvesOptions, ValidationEpochSummary } from './validation';
export { timeToTargetFigure, timeToTargetPoints } from './timeToTarget';
export type { TimeToTargetMetric, TimeToTargetPoint, TimeToTargetData, TimeToTargetFigureOptions } from './timeToTarget';
export { kaplanMeierFigure, kaplanMeierCensorTimes, kaplanMeierLastObservation } from './kaplanMeier';
export type { KaplanMeierCurveInput, KaplanMeierFigureOptions } from './kaplanMeier';
export { testErrorFigure, originalStudyErrorForArm } from './testError';
export type { TestErrorFigureOptions } from './testError';
export { figureToHtml, plotlyJsPath, plotlyJsVersion } from './html';
export type { FigureHtmlOptions } from './html';
export {
  exportFigure,
  exportFigures,
  createFigureExporter,
  findChromium,
  ChromiumNotFoundError,
  CHROMIUM_ARGS,
} from './export';
export type { ExportFormat, ExportOptions, ExportResult, FigureExporter, ExporterOptions, ImageOptions } from './export';
export { showFigure, initNotebookPlotly, figureNotebookHtml, figureBundle, figureOutputBundle, plotlyLoaderHtml, setNotebookDisplay, notebookPlotlyInjected, sendBundle } from './notebook';
export type { ShowFigureOptions, HtmlDisplay, MimeBundle } from './notebook';
export { staticFigurePng, setStaticFigureImages, staticFigureImagesOff, stopStaticRenderer, STATIC_WIDTH } from './static';
