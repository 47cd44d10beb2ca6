import { describe, expect, it } from 'vitest';

import {
  nextSelection,
  rangeRows,
  snapX,
  sortTable,
  stepRows,
  type TableLine,
} from '../src/dashboards/scalars/dataTable';
import { DEFAULT_SELECTION_SETTINGS, loadSelectionSettings } from '../src/dashboards/scalars/selection';

function line(name: string, steps: number[], values: number[], smoothed: number[] | null = null): TableLine {
  const x = Float64Array.from(steps);
  return {
    name,
    color: '#123456',
    x,
    value: Float64Array.from(values),
    smoothed: smoothed ? Float64Array.from(smoothed) : null,
    step: x,
    wallTime: Float64Array.from(steps, (s) => 1000 + 2 * s),
    relative: null,
    relativeOrigin: 1000,
  };
}

const a = line('a', [0, 10, 20, 30, 40], [5, 4, 3, 2, 1], [5, 4.5, 4, 3.5, 3]);
const b = line('b', [0, 15, 30], [1, 7, 2]);
const empty = line('empty', [], []);

describe('stepRows', () => {
  it('takes each run’s point nearest the selected step', () => {
    const rows = stepRows([a, b, empty], 14);
    expect(rows.map((r) => r.name)).toEqual(['a', 'b']);
    expect(rows[0]).toMatchObject({ step: 10, value: 4, smoothed: 4.5, wallTime: 1020, relative: 20 });
    expect(rows[1]).toMatchObject({ step: 15, value: 7, smoothed: null, relative: 30 });
  });

  it('ties go to the earlier point, and a step past the end takes the last', () => {
    expect(stepRows([a], 15)[0]!.step).toBe(10);
    expect(stepRows([a], 1e9)[0]!.step).toBe(40);
    expect(stepRows([a], -5)[0]!.step).toBe(0);
  });

  it('uses per-point relative times when the line has them', () => {
    const rel = { ...b, relative: Float64Array.from([0, 1.5, 3]) };
    expect(stepRows([rel], 30)[0]!.relative).toBe(3);
  });
});

describe('rangeRows', () => {
  it('computes start, end, change, min, max and mean over the points in [a, b]', () => {
    const [ra, rb] = rangeRows([a, b], 10, 30);
    expect(ra).toMatchObject({ startStep: 10, endStep: 30, start: 4, end: 2, change: -2, min: 2, max: 4, mean: 3, count: 3 });
    expect(rb).toMatchObject({ startStep: 15, endStep: 30, start: 7, end: 2, change: -5, min: 2, max: 7, mean: 4.5, count: 2 });
  });

  it('takes the ends in either order and includes both', () => {
    expect(rangeRows([a], 40, 0)[0]).toMatchObject({ start: 5, end: 1, change: -4, mean: 3, count: 5 });
  });

  it('leaves out runs with no point in the range', () => {
    expect(rangeRows([a, b], 16, 19)).toEqual([]);
    expect(rangeRows([a, b, empty], 16, 20).map((r) => r.name)).toEqual(['a']);
  });

  it('skips non-finite values in min, max and mean', () => {
    const c = line('c', [0, 1, 2], [1, NaN, 3]);
    expect(rangeRows([c], 0, 2)[0]).toMatchObject({ min: 1, max: 3, mean: 2, change: 2 });
    const nan = line('nan', [0], [NaN]);
    const row = rangeRows([nan], 0, 0)[0]!;
    expect(Number.isNaN(row.min) && Number.isNaN(row.mean)).toBe(true);
  });
});

describe('sortTable', () => {
  const rows = [
    { name: 'b', value: 2 },
    { name: 'c', value: NaN },
    { name: 'a', value: 3 },
    { name: 'd', value: -1 },
  ];
  it('keeps the order without a sort', () => {
    expect(sortTable(rows, null).map((r) => r.name)).toEqual(['b', 'c', 'a', 'd']);
  });
  it('sorts numbers both ways with NaN last', () => {
    expect(sortTable(rows, { key: 'value', descending: false }).map((r) => r.name)).toEqual(['d', 'b', 'a', 'c']);
    expect(sortTable(rows, { key: 'value', descending: true }).map((r) => r.name)).toEqual(['a', 'b', 'd', 'c']);
  });
  it('sorts text alphabetically', () => {
    expect(sortTable(rows, { key: 'name', descending: false }).map((r) => r.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(sortTable(rows, { key: 'name', descending: true }).map((r) => r.name)).toEqual(['d', 'c', 'b', 'a']);
  });
  it('puts null last', () => {
    const withNull = [{ name: 'x', step: null }, { name: 'y', step: 3 }];
    expect(sortTable(withNull, { key: 'step', descending: true }).map((r) => r.name)).toEqual(['y', 'x']);
  });
});

describe('selection', () => {
  it('snaps a click to the nearest logged x over all runs', () => {
    expect(snapX([a, b], 13.2)).toBe(15);
    expect(snapX([a, b], 11)).toBe(10);
    expect(snapX([], 11)).toBe(11);
  });

  it('a click selects a step; a range click ends a range, in order', () => {
    expect(nextSelection(null, 10, false)).toEqual({ start: 10, end: null });
    expect(nextSelection(null, 10, true)).toEqual({ start: 10, end: null });
    expect(nextSelection({ start: 30, end: null }, 10, true)).toEqual({ start: 10, end: 30 });
    expect(nextSelection({ start: 30, end: null }, 10, false)).toEqual({ start: 10, end: null });
    // A range is complete: the next click starts over; the same step twice stays one step.
    expect(nextSelection({ start: 10, end: 30 }, 20, true)).toEqual({ start: 20, end: null });
    expect(nextSelection({ start: 10, end: null }, 10, true)).toEqual({ start: 10, end: null });
  });

  it('settings load with defaults and validation', () => {
    const storage = (text: string | null) => ({ getItem: () => text, setItem: () => undefined });
    expect(loadSelectionSettings(null)).toEqual(DEFAULT_SELECTION_SETTINGS);
    expect(DEFAULT_SELECTION_SETTINGS.tooltipLimit).toBe(10);
    expect(loadSelectionSettings(storage('not json'))).toEqual(DEFAULT_SELECTION_SETTINGS);
    expect(loadSelectionSettings(storage('{"linkByStep":true,"tooltipLimit":5,"rangeSelection":1}'))).toEqual({
      linkByStep: true,
      rangeSelection: false,
      tooltipLimit: 5,
    });
    expect(loadSelectionSettings(storage('{"tooltipLimit":0}')).tooltipLimit).toBe(10);
  });
});
