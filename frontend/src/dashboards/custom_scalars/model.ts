/**
 * Custom scalars: from the merged layout and one chart's `/series` answer to the scalar chart's
 * series. A multiline chart draws every (run, tag) its regexes match, in the run's colour with
 * one dash pattern per tag; a margin chart draws each run's value line over a lower–upper band.
 */
import { decodeSeries, type SeriesColumns } from '../../core/api';
import { seriesStart, type RunData } from '../scalars/model';

export interface MarginSeries {
  value: string;
  lower: string;
  upper: string;
}
export interface Chart {
  title: string;
  multiline?: { tag?: string[] };
  margin?: { series?: MarginSeries[] };
}
export interface Category {
  title: string;
  chart?: Chart[];
  closed?: boolean;
}
/** The `/layout` answer: `{}` when no run has a layout. */
export interface Layout {
  category?: Category[];
}

export interface RawColumns {
  total: number;
  step: string;
  wall_time: string;
  value: string;
}
export interface SeriesAnswer {
  regexes: { regex_valid: boolean; error: string | null }[];
  tags: Record<string, Record<string, RawColumns>>;
  truncated: boolean;
}

/** `text` as a regex matching exactly it (Python's and JavaScript's syntax agree here). */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The regexes a chart asks the server for: a multiline chart's own, a margin chart's exact tags. */
export function chartRegexes(chart: Chart): string[] {
  if (chart.margin) {
    const tags = (chart.margin.series ?? []).flatMap((s) => [s.value, s.lower, s.upper]);
    return tags.length ? [`(?:${[...new Set(tags)].map(escapeRegex).join('|')})$`] : [];
  }
  return chart.multiline?.tag ?? [];
}

export const DASHES: number[][] = [[], [6, 3], [2, 3], [10, 3, 2, 3], [1, 2]];

export type Decoded = Map<string, Map<string, SeriesColumns>>;

export function decodeAnswer(answer: SeriesAnswer): Decoded {
  const out: Decoded = new Map();
  for (const [tag, runs] of Object.entries(answer.tags)) {
    out.set(tag, new Map(Object.entries(decodeSeries({ tag, runs }).runs)));
  }
  return out;
}

/** Multiline: one series per (run, tag), runs in the given order, tags sorted. */
export function multilineSeries(decoded: Decoded, runs: readonly string[]): RunData[] {
  const tags = [...decoded.keys()].sort();
  const out: RunData[] = [];
  for (const run of runs) {
    tags.forEach((tag, i) => {
      const columns = decoded.get(tag)?.get(run);
      if (!columns) return;
      const dash = DASHES[i % DASHES.length]!;
      out.push({
        run,
        columns,
        start: seriesStart(columns),
        id: `${run}\u0000${tag}`,
        label: `${run} · ${tag}`,
        ...(dash.length ? { dash } : {}),
      });
    });
  }
  return out;
}

/** `values` (at `steps`, ascending) linearly interpolated at `at`; edges held. */
export function interpolateAt(at: Float64Array, steps: Float64Array, values: Float64Array): Float64Array {
  const out = new Float64Array(at.length);
  if (steps.length === 0) return out.fill(NaN);
  let j = 0;
  for (let i = 0; i < at.length; i++) {
    const s = at[i]!;
    while (j < steps.length - 1 && steps[j + 1]! <= s) j++;
    const s0 = steps[j]!;
    if (s <= s0 || j === steps.length - 1) {
      out[i] = values[s <= s0 ? j : steps.length - 1]!;
      continue;
    }
    const s1 = steps[j + 1]!;
    const t = (s - s0) / (s1 - s0);
    out[i] = values[j]! + t * (values[j + 1]! - values[j]!);
  }
  return out;
}

/** Columns sorted by step (the server orders them by the x axis, which may be wall time). */
function byStep(columns: SeriesColumns): { step: Float64Array; value: Float64Array } {
  const order = [...columns.step.keys()].sort((a, b) => columns.step[a]! - columns.step[b]!);
  return {
    step: Float64Array.from(order, (i) => columns.step[i]!),
    value: Float64Array.from(order, (i) => columns.value[i]!),
  };
}

/** Margin: per run and series, the value line with the band of lower and upper at its steps. */
export function marginSeries(decoded: Decoded, runs: readonly string[], series: readonly MarginSeries[]): RunData[] {
  const out: RunData[] = [];
  for (const run of runs) {
    series.forEach((s, i) => {
      const value = decoded.get(s.value)?.get(run);
      const lower = decoded.get(s.lower)?.get(run);
      const upper = decoded.get(s.upper)?.get(run);
      if (!value || !lower || !upper) return;
      const lo = byStep(lower);
      const hi = byStep(upper);
      const dash = DASHES[i % DASHES.length]!;
      out.push({
        run,
        columns: value,
        start: seriesStart(value),
        id: `${run}\u0000${s.value}`,
        label: `${run} · ${s.value}`,
        band: { lo: interpolateAt(value.step, lo.step, lo.value), hi: interpolateAt(value.step, hi.step, hi.value) },
        ...(dash.length ? { dash } : {}),
      });
    });
  }
  return out;
}
