import { describe, expect, it } from 'vitest';

import { formatBytes, formatDuration, rangeStats, sortRows, stack, topN } from '../src/dashboards/profile/model';
import { buildLanes, hitTest, pan, timeTicks, toColumns, visibleSlices, zoom } from '../src/dashboards/profile/timeline';

function columns(events: [number, number, number, number][]) {
  // [track, depth, start, duration]
  return toColumns({
    track: events.map((e) => e[0]),
    depth: events.map((e) => e[1]),
    start: events.map((e) => e[2]),
    duration: events.map((e) => e[3]),
  });
}

describe('timeline lanes', () => {
  it('groups events by track and depth, in start order', () => {
    const c = columns([
      [0, 0, 50, 10],
      [0, 1, 12, 3],
      [0, 0, 10, 20],
      [1, 0, 0, 5],
    ]);
    const lanes = buildLanes(c);
    expect([...lanes.keys()].sort()).toEqual(['0:0', '0:1', '1:0']);
    expect([...lanes.get('0:0')!.events]).toEqual([2, 0]);
    expect([...lanes.get('0:0')!.reach]).toEqual([30, 60]);
  });

  it('draws only the visible slices', () => {
    const c = columns([
      [0, 0, 0, 10],
      [0, 0, 20, 10],
      [0, 0, 40, 10],
      [0, 0, 60, 10],
    ]);
    const lane = buildLanes(c).get('0:0')!;
    const slices = visibleSlices(lane, c, { start: 25, end: 45 }, 200);
    expect(slices.map((s) => s.index)).toEqual([1, 2]);
    expect(slices[0]!.x).toBe(0);
    expect(slices[0]!.w).toBeCloseTo(50); // 25..30 at 10 px/us
    expect(slices[1]!.x).toBeCloseTo(150);
  });

  it('merges sub-pixel slices into one rectangle per pixel column', () => {
    // 100k kernels of 0.1 us, 1 us apart: 100,000 us on a 1,000 px canvas.
    const events: [number, number, number, number][] = [];
    for (let i = 0; i < 100_000; i++) events.push([0, 0, i, 0.1]);
    const c = columns(events);
    const lane = buildLanes(c).get('0:0')!;
    const slices = visibleSlices(lane, c, { start: 0, end: 100_000 }, 1000);
    expect(slices.length).toBeLessThanOrEqual(1000);
    expect(slices.length).toBeGreaterThan(400);
    expect(slices.reduce((n, s) => n + s.count, 0)).toBe(100_000);
    // Zoomed in, nothing is merged.
    const near = visibleSlices(lane, c, { start: 0, end: 10 }, 1000);
    expect(near.every((s) => s.count === 1)).toBe(true);
    expect(near.length).toBe(11); // 0..10 inclusive
  });

  it('keeps wide slices separate from tiny neighbours', () => {
    const c = columns([
      [0, 0, 0, 50],
      [0, 0, 50.01, 0.01],
      [0, 0, 50.02, 0.01],
    ]);
    const lane = buildLanes(c).get('0:0')!;
    const slices = visibleSlices(lane, c, { start: 0, end: 100 }, 100);
    expect(slices.map((s) => s.count)).toEqual([1, 2]);
  });

  it('hit-tests the slice under the pointer', () => {
    const c = columns([
      [0, 0, 0, 10],
      [0, 0, 20, 0.001],
    ]);
    const lane = buildLanes(c).get('0:0')!;
    expect(hitTest(lane, c, 5, 0)).toBe(0);
    expect(hitTest(lane, c, 15, 1)).toBe(-1);
    expect(hitTest(lane, c, 20.5, 1)).toBe(1);
  });
});

describe('zoom and pan', () => {
  const bounds = { start: 0, end: 1000 };
  it('zooms around the pointer and stays in bounds', () => {
    const view = zoom(bounds, 250, 0.5, bounds);
    expect(view.end - view.start).toBeCloseTo(500);
    expect(view.start).toBeCloseTo(125); // 250 stays at a quarter of the width
    expect(zoom(view, 500, 10, bounds)).toEqual(bounds);
  });
  it('pans without leaving the trace', () => {
    expect(pan({ start: 100, end: 200 }, -500, bounds)).toEqual({ start: 0, end: 100 });
    expect(pan({ start: 100, end: 200 }, 5000, bounds)).toEqual({ start: 900, end: 1000 });
  });
  it('gives round ticks', () => {
    expect(timeTicks(0, 1000, 5)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(timeTicks(3, 7, 4)).toEqual([3, 4, 5, 6, 7]);
  });
});

describe('formatting and tables', () => {
  it('formats durations and bytes', () => {
    expect(formatDuration(0.5)).toBe('500 ns');
    expect(formatDuration(850)).toBe('850 µs');
    expect(formatDuration(12_300)).toBe('12.3 ms');
    expect(formatDuration(1_250_000)).toBe('1.25 s');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
    expect(formatBytes(null)).toBe('–');
  });
  it('sorts numbers and text, nulls last', () => {
    const rows = [{ a: 2, b: 'x' }, { a: null, b: 'y' }, { a: 10, b: 'z' }];
    expect(sortRows(rows, 'a', 'desc').map((r) => r.a)).toEqual([10, 2, null]);
    expect(sortRows(rows, 'a', 'asc').map((r) => r.a)).toEqual([2, 10, null]);
    expect(sortRows(rows, 'b', 'desc').map((r) => r.b)).toEqual(['z', 'y', 'x']);
  });
  it('keeps the top entries and sums the rest', () => {
    const top = topN([5, 1, 3, 2], 2, String, (v) => v);
    expect(top).toEqual([
      { label: '5', value: 5 },
      { label: '3', value: 3 },
      { label: 'Other', value: 3 },
    ]);
  });
  it('stacks step roles', () => {
    const parts = stack({ step: '1', start: 0, duration: 6, Kernel: 1, Other: 5 }, ['Kernel', 'Memcpy', 'Other']);
    expect(parts).toEqual([
      { role: 'Kernel', from: 0, to: 1 },
      { role: 'Memcpy', from: 1, to: 1 },
      { role: 'Other', from: 1, to: 6 },
    ]);
  });
  it('computes memory stats over a range', () => {
    expect(rangeStats([0, 1, 2, 3], [10, 30, null, 20], 1, 3)).toEqual({ min: 20, max: 30, delta: -10, points: 2 });
    expect(rangeStats([0], [1], 5, 6)).toBeNull();
  });
});
