/**
 * Chart colours come from the page's CSS variables (light or dark), read once per theme switch;
 * uPlot's axis colours are functions reading this object, so a switch needs only a redraw.
 */

export interface ChartTheme {
  text: string;
  grid: string;
  font: string;
  /** The step selection's lines. */
  selection: string;
}

let cached: ChartTheme | null = null;

export function chartTheme(): ChartTheme {
  if (cached) return cached;
  const style = getComputedStyle(document.documentElement);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const family = read('--font-ui', 'system-ui, sans-serif');
  cached = {
    text: read('--chart-text', '#555'),
    grid: read('--chart-grid', 'rgba(0,0,0,0.08)'),
    font: `11px ${family}`,
    selection: read('--chart-selection', read('--focus', '#2563eb')),
  };
  return cached;
}

/** Forget the cached colours (call after the theme changed). */
export function invalidateChartTheme(): void {
  cached = null;
}
