/**
 * Minimal, dependency-free typings of the Plotly figure objects built by the chart builders.
 *
 * The builders return plain JSON-serialisable objects (no functions, no class instances, no
 * `undefined` where JSON would drop it on purpose) so that a figure can be written to disk,
 * sent to a notebook front end or rendered by `Plotly.newPlot` / `Plotly.toImage` unchanged.
 */

/** One Plotly trace. Only the attributes the builders use are named; anything else is allowed. */
export interface PlotlyTrace {
  type?: string;
  name?: string;
  mode?: string;
  x?: Array<number | string | null>;
  y?: Array<number | string | null>;
  [attribute: string]: unknown;
}

/** Plotly layout object (free-form). */
export type PlotlyLayout = Record<string, unknown>;

/** A complete Plotly figure: `Plotly.newPlot(div, fig.data, fig.layout, fig.config)`. */
export interface PlotlyFigure {
  data: PlotlyTrace[];
  layout: PlotlyLayout;
  /** Optional Plotly config (e.g. `{ responsive: true }`); plain JSON as well. */
  config?: Record<string, unknown>;
}

/** Options shared by the figure builders. */
export interface CommonFigureOptions {
  /** Figure title; every builder has a descriptive default. */
  title?: string;
  /** Explicit arm colours (CSS colours), overriding {@link armColors}' defaults. */
  colors?: Record<string, string>;
  /** Arm order on the axis / in the legend. Default: natural sort of the arm names. */
  arms?: string[];
  /** Figure width / height in CSS pixels written into the layout (optional; exporters can override). */
  width?: number;
  height?: number;
}
