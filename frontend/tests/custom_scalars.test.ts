import { describe, expect, it } from 'vitest';

import type { SeriesColumns } from '../src/core/api';
import {
  chartRegexes,
  escapeRegex,
  interpolateAt,
  marginSeries,
  multilineSeries,
  type Decoded,
} from '../src/dashboards/custom_scalars/model';

function columns(step: number[], value: number[]): SeriesColumns {
  return {
    total: step.length,
    step: Float64Array.from(step),
    wall_time: Float64Array.from(step, (s) => 100 + s),
    value: Float64Array.from(value),
  };
}

describe('custom scalars model', () => {
  it('asks for exact tags for margin charts and the regexes of multiline ones', () => {
    expect(escapeRegex('a.b(c)')).toBe('a\\.b\\(c\\)');
    expect(chartRegexes({ title: 't', multiline: { tag: ['loss/.*', 'acc'] } })).toEqual(['loss/.*', 'acc']);
    expect(
      chartRegexes({ title: 't', margin: { series: [{ value: 'v.1', lower: 'lo', upper: 'hi' }] } }),
    ).toEqual(['(?:v\\.1|lo|hi)$']);
  });

  it('makes one series per (run, tag), dashed per tag', () => {
    const decoded: Decoded = new Map([
      ['loss/a', new Map([['r1', columns([0, 1], [1, 2])], ['r2', columns([0], [3])]])],
      ['loss/b', new Map([['r1', columns([0], [4])]])],
    ]);
    const series = multilineSeries(decoded, ['r2', 'r1', 'r3']);
    expect(series.map((s) => s.label)).toEqual(['r2 · loss/a', 'r1 · loss/a', 'r1 · loss/b']);
    expect(series[1]!.dash).toBeUndefined();
    expect(series[2]!.dash).toEqual([6, 3]);
    expect(new Set(series.map((s) => s.id)).size).toBe(3);
  });

  it('interpolates margins at the value steps', () => {
    const at = Float64Array.from([0, 1, 2, 5]);
    expect([...interpolateAt(at, Float64Array.from([0, 2, 4]), Float64Array.from([0, 2, 4]))]).toEqual([0, 1, 2, 4]);
    const decoded: Decoded = new Map([
      ['v', new Map([['r', columns([0, 1, 2], [1, 2, 3])]])],
      ['lo', new Map([['r', columns([0, 2], [0, 2])]])],
      ['hi', new Map([['r', columns([0, 1, 2], [2, 3, 4])]])],
    ]);
    const [series] = marginSeries(decoded, ['r', 'other'], [{ value: 'v', lower: 'lo', upper: 'hi' }]);
    expect([...series!.band!.lo]).toEqual([0, 1, 2]);
    expect([...series!.band!.hi]).toEqual([2, 3, 4]);
    expect(marginSeries(decoded, ['r'], [{ value: 'v', lower: 'missing', upper: 'hi' }])).toEqual([]);
  });
});
