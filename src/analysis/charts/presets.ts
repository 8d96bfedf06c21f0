/**
 * Styles of a figure for where it is shown: `notebookFigure` fits the Jupyter output area (no fixed
 * width, autosized, legend below the plot), `paperFigure` is the export preset for a paper (one or
 * two columns at 300 dpi, fonts of 8-10 pt at that size, no title: the caption goes beside the file
 * as text, legend below the plot). Both leave the data untouched: views only restyle.
 */
import type { PlotlyFigure } from './types';

/** Figure styles of the export: 'paper' (default for PNG/SVG) or 'screen' (the figure as built). */
export type FigureStyle = 'paper' | 'screen';

/** Column widths of a two-column paper (IEEE/ACM-like), inches; heights keep the plots readable. */
export const PAPER_COLUMNS = { 1: { width: 3.5, height: 2.8 }, 2: { width: 7.16, height: 3.4 } } as const;
/** Resolution of exported paper PNGs. */
export const PAPER_DPI = 300;
/** CSS pixels per inch (Plotly's and the browser's unit): sizes in inches times this are CSS px. */
const CSS_PX_PER_INCH = 96;
/** 1 pt = 1/72 in: font sizes in pt as CSS px. */
const pt = (points: number) => (points * CSS_PX_PER_INCH) / 72;

/** Legend in one row (wrapping) below the plot area, left-aligned: it never takes the plot's width. */
const LEGEND_BELOW = { orientation: 'h', x: 0, xanchor: 'left', y: 0, yanchor: 'bottom', yref: 'container', traceorder: 'normal' } as const;

/** The plain text of a figure's title, subtitle and notes above the plot (HTML tags and <br> removed), '' without any. */
export function figureCaption(fig: PlotlyFigure): string {
  const t = fig.layout.title as string | { text?: string; subtitle?: { text?: string } } | undefined;
  const title = typeof t === 'string' ? t : t?.text ?? '';
  const sub = typeof t === 'object' && t ? t.subtitle?.text ?? '' : '';
  const plain = (s: string) => s.replace(/<br\s*\/?>/gi, '. ').replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim();
  // notes drawn above the plot (e.g. "not shown: 2 runs (status running)") have no room in a paper figure: the caption says them
  const notes = annotationsAbove(fig).map((a) => String(a.text ?? ''));
  return [plain(title), plain(sub), ...notes.map(plain)].filter(Boolean).join('. ');
}

/** Annotations placed above the plot area (paper coordinates, y > 1): a title's room, which a paper figure does not keep. */
function annotationsAbove(fig: PlotlyFigure): Record<string, unknown>[] {
  const list = Array.isArray(fig.layout.annotations) ? fig.layout.annotations as Record<string, unknown>[] : [];
  return list.filter((a) => a.yref === 'paper' && typeof a.y === 'number' && a.y > 1);
}

/**
 * An axis title broken into lines of at most `max` characters at spaces (Plotly's <br>): a long y
 * title at paper size is taller than the plot and is cut off at the figure's edge otherwise.
 */
export function wrapTitle(text: string, max: number): string {
  if (text.length <= max || text.includes('<br')) return text;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > max) { lines.push(line); line = word; } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('<br>');
}

function axisKeys(fig: PlotlyFigure): string[] {
  return Object.keys(fig.layout).filter((k) => /^[xy]axis\d*$/.test(k));
}

/** Rows of a horizontal legend of `fontPx` entries (symbol ~40 px + ~0.55 em per character) wrapped at `width` px. */
export function legendRows(fig: PlotlyFigure, width: number, fontPx = pt(7.5)): number {
  const names = fig.data.filter((t) => t.showlegend !== false && typeof t.name === 'string').map((t) => String(t.name));
  let rows = names.length ? 1 : 0;
  let x = 0;
  for (const n of names) {
    const w = 40 + 0.55 * fontPx * n.length;
    if (x > 0 && x + w > width - 10) { rows++; x = 0; }
    x += w;
  }
  return rows;
}

/** Height in px a notebook figure's legend below the plot takes (rows of 12 px entries at a ~900 px wide output). */
export function notebookLegendHeight(fig: PlotlyFigure): number {
  return legendRows(fig, 900, 12) * 21;
}

/**
 * The figure for a notebook's output area: no fixed width (it follows the cell, `autosize`), the
 * legend below the plot (not beside it, where it would be clipped at the right edge) in a bottom
 * margin grown by its rows ({@link notebookLegendHeight}: the x-axis title stays clear of it; the
 * output grows by as much), the top margin kept for the title and subtitle.
 */
export function notebookFigure(fig: PlotlyFigure): PlotlyFigure {
  const layout: Record<string, unknown> = { ...fig.layout, autosize: true, legend: { ...(fig.layout.legend as object ?? {}), ...LEGEND_BELOW } };
  delete layout.width;
  const margin = (fig.layout.margin ?? {}) as Record<string, unknown>;
  layout.margin = { ...margin, r: 20, l: typeof margin.l === 'number' ? margin.l : 64, b: (typeof margin.b === 'number' ? margin.b : 64) + notebookLegendHeight(fig) };
  return { ...fig, layout, config: { ...(fig.config ?? {}), responsive: true } };
}

/**
 * The figure as a paper's figure: `columns` wide (PAPER_COLUMNS, inches), rendered at PAPER_DPI
 * through `scale`, fonts of 9 pt (ticks, legend 8 pt, axis titles 10 pt) at that size, no title or
 * subtitle and no notes above the plot (write `figureCaption(fig)`, which has them, beside the file),
 * legend below the plot, tight margins.
 * @returns the restyled figure, its size in CSS px and the PNG scale that gives PAPER_DPI
 */
export function paperFigure(fig: PlotlyFigure, columns: 1 | 2 = 1): { figure: PlotlyFigure; width: number; height: number; scale: number } {
  const size = PAPER_COLUMNS[columns];
  const width = Math.round(size.width * CSS_PX_PER_INCH);
  // the legend rows come below the plot: the figure grows by them
  const height = Math.round(size.height * CSS_PX_PER_INCH + legendRows(fig, width) * pt(11));
  const layout: Record<string, unknown> = { ...fig.layout, width, height, title: undefined, autosize: false };
  layout.font = { ...(fig.layout.font as object ?? {}), family: 'Arial, Helvetica, sans-serif', size: pt(9) };
  layout.legend = { ...(fig.layout.legend as object ?? {}), ...LEGEND_BELOW, font: { size: pt(7.5) } };
  layout.margin = { l: 52, r: 8, t: 10, b: 40, pad: 0 };
  for (const k of axisKeys(fig)) {
    const axis = fig.layout[k] as Record<string, unknown>;
    const title = axis.title as { text?: string } | string | undefined;
    const t = typeof title === 'string' ? { text: title } : title;
    // about 7.3 CSS px per character at 10 pt: 22 characters fit the one-column plot's height, 36 its width
    const wrapped = t?.text ? { ...t, text: wrapTitle(t.text, k.startsWith('y') ? 22 : 36) } : t;
    layout[k] = {
      ...axis, automargin: true, tickfont: { size: pt(8) },
      ...(wrapped ? { title: { ...wrapped, font: { size: pt(10) } } } : {}),
    };
  }
  // annotations (value labels, notes) at the ticks' size
  // (those above the plot go to the caption instead: figureCaption)
  if (Array.isArray(fig.layout.annotations)) {
    const above = annotationsAbove(fig);
    layout.annotations = (fig.layout.annotations as Record<string, unknown>[]).filter((a) => !above.includes(a))
      .map((a) => ({ ...a, font: { ...(a.font as object ?? {}), size: pt(7.5) } }));
  }
  // value labels above their markers (below those the builder put below), clear of reference lines near the markers' level
  const below = (p: unknown) => typeof p === 'string' && p.startsWith('bottom');
  const place = (p: unknown) => (Array.isArray(p) ? p.map((q) => (below(q) ? 'bottom center' : 'top center')) : below(p) ? 'bottom center' : 'top center');
  const data = fig.data.map((t) => (typeof t.mode === 'string' && t.mode.includes('text') ? { ...t, textposition: place(t.textposition), textfont: { size: pt(7.5) } } : t));
  return { figure: { ...fig, data, layout }, width, height, scale: PAPER_DPI / CSS_PX_PER_INCH };
}
