import { describe, expect, it } from 'vitest';

import {
  badgeText,
  cardFlags,
  cardMarkers,
  chartLink,
  distinct,
  filterFlags,
  healthByRun,
  markerX,
  NO_FILTER,
  nextSort,
  parseHealth,
  sortFlags,
  summarize,
  summaryTitle,
  TITLE_LINES,
  worstLevel,
  type HealthFlag,
} from '../src/health/model';
import { parseFilter } from '../src/core/regex';

function flag(partial: Partial<HealthFlag> & Pick<HealthFlag, 'run'>): HealthFlag {
  return {
    tag: 'loss',
    kind: 'nonfinite',
    level: 'error',
    step: 50,
    wall_time: 1000.5,
    value: 'NaN',
    message: 'loss is NaN from step 50',
    ...partial,
  };
}

// The contract's example payload (docs/HTTP_API.md, GET /data/health).
const PAYLOAD = {
  flags: [
    {
      run: 'r1',
      tag: 'loss',
      kind: 'nonfinite',
      level: 'error',
      step: 120,
      wall_time: 1733000000.5,
      value: 'NaN',
      message: 'loss is NaN from step 120 (first non-finite value)',
    },
  ],
  counts: { r1: { error: 1, warning: 0, info: 0 } },
  computed_at: 1733000001.0,
};

describe('parseHealth', () => {
  it('reads the contract payload', () => {
    const report = parseHealth(PAYLOAD);
    expect(report.computedAt).toBe(1733000001.0);
    expect(report.flags).toEqual([PAYLOAD.flags[0]]);
  });

  it('never throws on odd payloads: bad entries are dropped, odd fields defaulted', () => {
    expect(parseHealth(null).flags).toEqual([]);
    expect(parseHealth('oops').flags).toEqual([]);
    expect(parseHealth({ flags: 'x' }).flags).toEqual([]);
    const report = parseHealth({
      flags: [
        null,
        { tag: 'loss', kind: 'spike' }, // no run
        { run: 'a', tag: 'loss' }, // no kind
        { run: 'a', tag: 'loss', kind: 'spike', level: 'fatal', step: 'x', wall_time: null, value: { v: 1 } },
      ],
    });
    expect(report.flags).toEqual([
      {
        run: 'a',
        tag: 'loss',
        kind: 'spike',
        level: 'info',
        step: null,
        wall_time: null,
        value: null,
        message: 'spike on loss',
      },
    ]);
    expect(report.computedAt).toBeNull();
  });
});

describe('levels and per-run grouping', () => {
  it('the worst level is error, then warning, then info', () => {
    expect(worstLevel([])).toBeNull();
    expect(worstLevel(['info'])).toBe('info');
    expect(worstLevel(['info', 'warning', 'info'])).toBe('warning');
    expect(worstLevel(['warning', 'error', 'info'])).toBe('error');
  });

  it('groups flags per run with the worst level, the count and the messages', () => {
    const flags = [
      flag({ run: 'a', level: 'warning', kind: 'divergence', message: 'loss diverges' }),
      flag({ run: 'b', level: 'info', kind: 'spike', message: 'a spike' }),
      flag({ run: 'a', level: 'error', tag: 'acc', message: 'acc is NaN' }),
    ];
    const byRun = healthByRun(flags);
    expect([...byRun.keys()].sort()).toEqual(['a', 'b']);
    const a = byRun.get('a')!;
    expect(a.worst).toBe('error');
    expect(a.count).toBe(2);
    expect(a.byLevel).toEqual({ error: 1, warning: 1, info: 0 });
    // Worst first in the hover text.
    expect(a.flags.map((f) => f.message)).toEqual(['acc is NaN', 'loss diverges']);
    const title = summaryTitle(a);
    expect(title.split('\n')).toEqual([
      'Health: 1 error, 1 warning',
      'ERROR acc, step 50: acc is NaN',
      'WARNING loss, step 50: loss diverges',
    ]);
    expect(byRun.get('b')!.worst).toBe('info');
  });

  it('a long list in a title is cut, with the rest counted', () => {
    const flags = Array.from({ length: TITLE_LINES + 3 }, (_, i) => flag({ run: 'a', step: i }));
    const lines = summaryTitle(summarize(flags)!).split('\n');
    expect(lines).toHaveLength(TITLE_LINES + 2);
    expect(lines[0]).toBe(`Health: ${TITLE_LINES + 3} errors`);
    expect(lines.at(-1)).toBe('… and 3 more');
  });

  it('a card badge names the kind of one flag, or counts several', () => {
    expect(badgeText(summarize([flag({ run: 'a' })])!)).toBe('NaN/Inf');
    expect(badgeText(summarize([flag({ run: 'a' }), flag({ run: 'b' })])!)).toBe('NaN/Inf ×2');
    expect(badgeText(summarize([flag({ run: 'a' }), flag({ run: 'a', kind: 'spike' })])!)).toBe('2 flags');
    expect(summarize([])).toBeNull();
  });
});

describe('a chart card', () => {
  const flags = [
    flag({ run: 'nan', step: 50 }),
    flag({ run: 'nan', tag: 'acc', step: 70 }),
    flag({ run: 'hidden', step: 10 }),
    flag({ run: 'nan', tag: 'alerts', kind: 'alert', level: 'warning', step: 40, message: 'LR too high' }),
  ];

  it('has a badge for the flags on its tag of the runs it shows (alerts are not badges)', () => {
    expect(cardFlags(flags, 'loss', ['nan', 'ok']).map((f) => f.step)).toEqual([50]);
    expect(cardFlags(flags, 'loss', ['ok'])).toEqual([]);
    expect(cardFlags(flags, 'alerts', ['nan'])).toEqual([]);
  });

  it('marks each flag on its tag with a line, and its runs’ alerts with a tick, on every card', () => {
    const drawn = [
      { run: 'nan', start: 1000 },
      { run: 'ok', start: 1000 },
    ];
    const loss = cardMarkers(flags, 'loss', drawn, 'step');
    expect(loss.map((m) => [m.x, m.style, m.level])).toEqual([
      [40, 'tick', 'warning'],
      [50, 'line', 'error'],
    ]);
    expect(loss[1]!.label).toBe('ERROR nan · loss, step 50: loss is NaN from step 50');
    expect(loss[0]!.label).toBe('WARNING nan · alert, step 40: LR too high');
    // Another tag of the same run: only its own flag and the alert.
    expect(cardMarkers(flags, 'acc', drawn, 'step').map((m) => m.x)).toEqual([40, 70]);
    // A run not drawn gets no marker.
    expect(cardMarkers(flags, 'loss', [{ run: 'ok', start: 0 }], 'step')).toEqual([]);
  });

  it('places markers by step, wall time, or time since the series start', () => {
    const f = flag({ run: 'a', step: 50, wall_time: 1030 });
    expect(markerX(f, 'step', 1000)).toBe(50);
    expect(markerX(f, 'wall_time', 1000)).toBe(1030);
    expect(markerX(f, 'relative', 1000)).toBe(30);
    const noTime = flag({ run: 'a', wall_time: null });
    expect(markerX(noTime, 'relative', 1000)).toBeNull();
    expect(cardMarkers([noTime], 'loss', [{ run: 'a', start: 1000 }], 'wall_time')).toEqual([]);
    expect(markerX(flag({ run: 'a', step: null }), 'step', 0)).toBeNull();
  });

  it('merges runs flagged at the same step and level into one marker naming both', () => {
    const same = [flag({ run: 'a' }), flag({ run: 'b' })];
    const drawn = [
      { run: 'a', start: 0 },
      { run: 'b', start: 0 },
    ];
    const markers = cardMarkers(same, 'loss', drawn, 'step');
    expect(markers).toHaveLength(1);
    expect(markers[0]!.label.split('\n')).toHaveLength(2);
  });
});

describe('the Health view', () => {
  const flags = [
    flag({ run: 'run10', level: 'info', kind: 'spike', step: 5, wall_time: 3 }),
    flag({ run: 'run2', level: 'error', step: 80, wall_time: 1 }),
    flag({ run: 'run2', level: 'warning', kind: 'divergence', step: null, wall_time: null }),
    flag({ run: 'run1', level: 'error', tag: 'acc', step: 20, wall_time: 2 }),
  ];

  it('sorts worst first by default, ties by run (natural order) and step', () => {
    const sorted = sortFlags(flags, { key: 'level', descending: false });
    expect(sorted.map((f) => `${f.level}:${f.run}`)).toEqual(['error:run1', 'error:run2', 'warning:run2', 'info:run10']);
  });

  it('sorts by a column either way, missing steps last both ways', () => {
    const by = (descending: boolean) => sortFlags(flags, { key: 'step', descending }).map((f) => f.step);
    expect(by(false)).toEqual([5, 20, 80, null]);
    expect(by(true)).toEqual([80, 20, 5, null]);
    expect(sortFlags(flags, { key: 'run', descending: false }).map((f) => f.run)).toEqual([
      'run1',
      'run2',
      'run2',
      'run10',
    ]);
    expect(nextSort({ key: 'level', descending: false }, 'step')).toEqual({ key: 'step', descending: false });
    expect(nextSort({ key: 'step', descending: false }, 'step')).toEqual({ key: 'step', descending: true });
  });

  it('filters by level, kind, run and tag', () => {
    expect(filterFlags(flags, NO_FILTER)).toHaveLength(4);
    expect(filterFlags(flags, { ...NO_FILTER, level: 'error' }).map((f) => f.run)).toEqual(['run2', 'run1']);
    expect(filterFlags(flags, { ...NO_FILTER, kind: 'spike' }).map((f) => f.run)).toEqual(['run10']);
    expect(filterFlags(flags, { ...NO_FILTER, run: 'run2', level: 'warning' })).toHaveLength(1);
    expect(filterFlags(flags, { ...NO_FILTER, tag: 'acc' }).map((f) => f.run)).toEqual(['run1']);
    expect(distinct(flags, 'run')).toEqual(['run1', 'run2', 'run10']);
  });

  it('links a flag to its Scalars card by an exact tag filter, an alert to Text', () => {
    const link = chartLink(flag({ run: 'a', tag: 'loss/train (x)' }));
    expect(link.tab).toBe('scalars');
    const regex = parseFilter(link.tagFilter).regex!;
    expect(regex.test('loss/train (x)')).toBe(true);
    expect(regex.test('loss/train (x)/ema')).toBe(false);
    expect(regex.test('other/loss/train (x)')).toBe(false);
    expect(chartLink(flag({ run: 'a', tag: 'alerts', kind: 'alert' })).tab).toBe('text');
  });
});
