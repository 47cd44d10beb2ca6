import { describe, expect, it } from 'vitest';

import {
  curvePath,
  FULL_DOMAIN,
  nearestPoint,
  parseEntry,
  pickIndex,
  ticks,
  timeLabel,
  type Entry,
  type RawEntry,
} from '../src/dashboards/pr_curves/model';

const FRAME = { left: 0, top: 0, width: 100, height: 100 };

function raw(step: number, precision: (number | string)[], recall: number[]): RawEntry {
  const n = recall.length;
  return {
    step,
    wall_time: 1000 + step,
    precision,
    recall,
    thresholds: recall.map((_, i) => i / Math.max(1, n - 1)),
    true_positives: new Array<number>(n).fill(1),
    false_positives: new Array<number>(n).fill(2),
    true_negatives: new Array<number>(n).fill(3),
    false_negatives: new Array<number>(n).fill(4),
  };
}

describe('pr curves model', () => {
  it('parses NaN strings and draws (recall, precision) with breaks', () => {
    const entry = parseEntry(raw(0, [1, 'NaN', 0.5], [0, 0.5, 1]));
    expect(Number.isNaN(entry.precision[1])).toBe(true);
    expect(curvePath(entry, FRAME, FULL_DOMAIN)).toBe('M0.00,0.00M100.00,50.00');
  });

  it('finds the nearest threshold point across runs within a radius', () => {
    const a = parseEntry(raw(0, [1, 0.5], [0, 1]));
    const b = parseEntry(raw(0, [0.8], [0.2]));
    const curves = [
      { run: 'a', entry: a },
      { run: 'b', entry: b },
    ];
    expect(nearestPoint(curves, FRAME, FULL_DOMAIN, 22, 21)).toMatchObject({ run: 'b', index: 0 });
    expect(nearestPoint(curves, FRAME, FULL_DOMAIN, 95, 52)).toMatchObject({ run: 'a', index: 1 });
    expect(nearestPoint(curves, FRAME, FULL_DOMAIN, 60, 90, 5)).toBeNull();
  });

  it('keeps a chosen step and falls back to the latest', () => {
    const entries: Entry[] = [0, 5, 10].map((s) => parseEntry(raw(s, [1], [1])));
    expect(pickIndex(entries, 5)).toBe(1);
    expect(pickIndex(entries, 7)).toBe(2);
    expect(pickIndex(entries, undefined)).toBe(2);
  });

  it('labels steps by the time display', () => {
    const first = parseEntry(raw(0, [1], [1]));
    const later = parseEntry(raw(90, [1], [1]));
    expect(timeLabel('step', later, first)).toBe('step 90');
    expect(timeLabel('relative', later, first)).toMatch(/^1 min 30 s$|^1 min 30/);
    expect(timeLabel('wall_time', later, first)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it('ticks a zoomed range', () => {
    expect(ticks([0, 1])).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks([0.25, 0.5])).toEqual([0.25, 0.3, 0.35, 0.4, 0.45, 0.5]);
  });
});
