import { describe, expect, it } from 'vitest';

import { ALL_RUNS, NO_RUNS, isSelected, selectAll, setSelected, solo } from '../src/core/selection';
import {
  DEFAULT_VIEW,
  clampSmoothing,
  decodeGroupBy,
  encodeGroupBy,
  isDeepLink,
  parseView,
  sameView,
  serializeView,
  toggleIn,
  type ViewState,
} from '../src/core/state';

const roundTrip = (view: ViewState) => parseView(new URLSearchParams(serializeView(view)));

describe('URL state', () => {
  it('writes nothing for the default view', () => {
    expect(serializeView(DEFAULT_VIEW)).toBe('');
    expect(parseView(new URLSearchParams(''))).toEqual(DEFAULT_VIEW);
  });

  it('round-trips every key', () => {
    const view: ViewState = {
      tab: 'scalars',
      tagFilter: 'loss/(train|val)',
      runFilter: 'seed[0-9]+ & co',
      smoothing: 0.95,
      smoother: 'gaussian',
      selection: { mode: 'all', runs: ['a,b', 'run/with/slashes'] },
      pinned: ['loss/train', 'acc&1'],
      xAxis: 'wall_time',
      darkMode: 'dark',
      ignoreOutliers: true,
      groupBy: { kind: 'regex', pattern: '(.*)_seed\\d+' },
      band: 'minmax',
      showMembers: true,
      logY: ['loss/train'],
      wide: ['loss/val', 'x'],
      hparams: [['hpView', 'parallel'], ['hpHide', 'h:lr'], ['hpHide', 'm:a&b=c']],
    };
    const back = roundTrip(view);
    expect(back).toEqual(view);
    expect(sameView(back, view)).toBe(true);
  });

  it('round-trips an explicit selection, including "none"', () => {
    const only = { ...DEFAULT_VIEW, selection: { mode: 'only' as const, runs: ['b', 'a'].sort() } };
    expect(roundTrip(only).selection).toEqual({ mode: 'only', runs: ['a', 'b'] });
    const none = { ...DEFAULT_VIEW, selection: NO_RUNS };
    expect(serializeView(none)).toBe('runs=');
    expect(roundTrip(none).selection).toEqual(NO_RUNS);
  });

  it("uses TensorBoard's names and pinnedCards form", () => {
    const q = new URLSearchParams(
      'tagFilter=loss&runFilter=train&smoothing=0.3&darkMode=false' +
        '&pinnedCards=' + encodeURIComponent('[{"plugin":"scalars","tag":"loss/train"},{"plugin":"images","tag":"img"}]'),
    );
    const view = parseView(q);
    expect(view.tagFilter).toBe('loss');
    expect(view.runFilter).toBe('train');
    expect(view.smoothing).toBe(0.3);
    expect(view.darkMode).toBe('light');
    expect(view.pinned).toEqual(['loss/train']);
    expect(serializeView({ ...DEFAULT_VIEW, pinned: ['a'] })).toBe(
      'pinnedCards=' + encodeURIComponent('[{"plugin":"scalars","tag":"a"}]'),
    );
  });

  it('keeps query keys it does not own, but never the auth token', () => {
    const base = new URLSearchParams('token=s3cret&smoothing=0.1&other=kept&token=again');
    const query = new URLSearchParams(serializeView({ ...DEFAULT_VIEW, smoothing: 0.2 }, base));
    expect(query.has('token')).toBe(false);
    expect(query.get('other')).toBe('kept');
    expect(query.get('smoothing')).toBe('0.2');
    expect(serializeView(DEFAULT_VIEW, new URLSearchParams('token=s3cret'))).toBe('');
  });

  it('ignores malformed values', () => {
    const view = parseView(
      new URLSearchParams('smoothing=abc&xAxis=epoch&band=median&pinnedCards=%5Bnot&ignoreOutliers=maybe&groupBy=what'),
    );
    expect(view.smoothing).toBe(DEFAULT_VIEW.smoothing);
    expect(view.xAxis).toBe('step');
    expect(view.band).toBe('std');
    expect(view.pinned).toEqual([]);
    expect(view.ignoreOutliers).toBe(false);
    expect(view.groupBy).toEqual({ kind: 'none' });
  });

  it('clamps smoothing to [0, 0.999]', () => {
    expect(parseView(new URLSearchParams('smoothing=5')).smoothing).toBe(0.999);
    expect(parseView(new URLSearchParams('smoothing=-1')).smoothing).toBe(0);
    expect(clampSmoothing(NaN)).toBe(0.6);
  });

  it('fills missing keys from the given defaults, and knows a deep link', () => {
    const defaults = { ...DEFAULT_VIEW, smoothing: 0.9 };
    expect(parseView(new URLSearchParams('tagFilter=x'), defaults).smoothing).toBe(0.9);
    expect(isDeepLink(new URLSearchParams('token=abc'))).toBe(false);
    expect(isDeepLink(new URLSearchParams('token=abc&runFilter=a'))).toBe(true);
  });

  it("carries the HParams dashboard's hp* keys as raw pairs, replacing the old ones", () => {
    const base = new URLSearchParams('token=t&hpView=scatter&hpHide=h:a&hpx=keep&hp=keep');
    const view = parseView(base);
    expect(view.hparams).toEqual([['hpView', 'scatter'], ['hpHide', 'h:a']]);
    expect(isDeepLink(new URLSearchParams('hpSort=-m:loss'))).toBe(true);
    const query = new URLSearchParams(serializeView({ ...view, hparams: [['hpSort', 'm:acc']] }, base));
    expect([...query.entries()]).toEqual([['hpx', 'keep'], ['hp', 'keep'], ['hpSort', 'm:acc']]);
    expect(sameView(view, { ...view, hparams: [['hpView', 'scatter']] })).toBe(false);
    expect(serializeView({ ...DEFAULT_VIEW, hparams: [] }, new URLSearchParams('hpView=table'))).toBe('');
  });

  it('encodes group-by modes, separators with colons included', () => {
    for (const g of [
      { kind: 'none' as const },
      { kind: 'regex' as const, pattern: 'a:(b)' },
      { kind: 'part' as const, separator: '::', index: -1 },
    ]) {
      expect(decodeGroupBy(encodeGroupBy(g))).toEqual(g);
    }
  });

  it('toggles list members', () => {
    expect(toggleIn(['a', 'b'], 'c', true)).toEqual(['a', 'b', 'c']);
    expect(toggleIn(['a', 'b'], 'a', false)).toEqual(['b']);
    expect(toggleIn(['a'], 'a', true)).toEqual(['a']);
  });
});

describe('run selection', () => {
  const runs = ['a', 'b', 'c'];

  it('selects everything by default, new runs included', () => {
    expect(runs.every((r) => isSelected(ALL_RUNS, r))).toBe(true);
    expect(isSelected(ALL_RUNS, 'brand-new')).toBe(true);
  });

  it('toggles single runs in either mode', () => {
    const hidden = setSelected(ALL_RUNS, ['b'], false);
    expect(hidden).toEqual({ mode: 'all', runs: ['b'] });
    expect(isSelected(hidden, 'b')).toBe(false);
    expect(setSelected(hidden, ['b'], true)).toEqual(ALL_RUNS);
    const picked = setSelected(NO_RUNS, ['c'], true);
    expect(runs.filter((r) => isSelected(picked, r))).toEqual(['c']);
  });

  it('solo shows only the double-clicked run', () => {
    const s = solo('b');
    expect(runs.filter((r) => isSelected(s, r))).toEqual(['b']);
    expect(isSelected(s, 'new')).toBe(false);
  });

  it('select all / none applies to the filtered runs only', () => {
    expect(selectAll(solo('a'), runs, runs, true)).toEqual(ALL_RUNS);
    expect(selectAll(ALL_RUNS, runs, runs, false)).toEqual(NO_RUNS);
    const s = selectAll(ALL_RUNS, ['a', 'b'], runs, false);
    expect(runs.filter((r) => isSelected(s, r))).toEqual(['c']);
  });
});
