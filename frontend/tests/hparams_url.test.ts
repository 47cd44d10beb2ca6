import { describe, expect, it } from 'vitest';

import { parseView, serializeView, DEFAULT_VIEW } from '../src/core/state';
import { formatTick, niceTicks, numericScale, valueKey } from '../src/dashboards/hparams/model';
import { plotSize, MAX_PLOT, MIN_PLOT } from '../src/dashboards/hparams/ScatterView';
import {
  DEFAULT_HPARAMS,
  DEFAULT_QUERY,
  decodeFilter,
  decodeHParams,
  encodeFilter,
  encodeHParams,
  type HParamsUrlState,
} from '../src/dashboards/hparams/urlState';

/** Through the whole URL: encode, the app's view serializer, a query string, and back. */
function throughUrl(state: HParamsUrlState): HParamsUrlState {
  const query = serializeView({ ...DEFAULT_VIEW, hparams: encodeHParams(state) });
  return decodeHParams(parseView(new URLSearchParams(query)).hparams);
}

describe('hparams deep link', () => {
  it('writes nothing for the defaults', () => {
    expect(encodeHParams(DEFAULT_HPARAMS)).toEqual([]);
    expect(decodeHParams([])).toEqual(DEFAULT_HPARAMS);
  });

  it('round-trips every key through the URL', () => {
    const state: HParamsUrlState = {
      tab: 'parallel',
      query: {
        hidden: new Set(['h:layers', 'm:a&b=c d']),
        filters: {
          'h:optimizer': { kind: 'discrete', keep: [valueKey('adam'), valueKey('n:odd,"q"')] },
          'h:layers': { kind: 'discrete', keep: [valueKey(2), valueKey(0.5), valueKey(Infinity), valueKey(true)] },
          'h:lr': { kind: 'interval', min: 0.001, max: null },
          'm:validation/accuracy': { kind: 'interval', min: null, max: 0.9 },
          'h:name': { kind: 'regex', pattern: '^a|b&c' },
        },
        statuses: ['success', 'running'],
        sort: { column: 'm:validation/accuracy', desc: true },
        pageSize: 100,
        page: 3,
        colorBy: 'h:lr',
        deselected: 'grey',
      },
      kinds: { 'h:lr': 'log', 'm:loss': 'quantile' },
    };
    expect(throughUrl(state)).toEqual(state);
  });

  it('uses readable keys', () => {
    const pairs = encodeHParams({
      tab: 'scatter',
      query: { ...DEFAULT_QUERY, sort: { column: 'm:loss', desc: false }, statuses: ['failure'] },
      kinds: { 'h:lr': 'linear' },
    });
    expect(pairs).toEqual([
      ['hpView', 'scatter'],
      ['hpSort', 'm:loss'],
      ['hpStatus', 'failure'],
    ]);
    expect(encodeFilter('h:opt', { kind: 'discrete', keep: [valueKey('sgd')] })).toBe('["h:opt",["sgd"]]');
    expect(encodeFilter('h:lr', { kind: 'interval', min: 0.1, max: null })).toBe('["h:lr",0.1,null]');
  });

  it('keeps an empty status set and an empty discrete set', () => {
    const state = { ...DEFAULT_HPARAMS, query: { ...DEFAULT_QUERY, statuses: [], filters: { 'h:o': { kind: 'discrete' as const, keep: [] } } } };
    expect(throughUrl(state)).toEqual(state);
  });

  it('ignores malformed values', () => {
    const state = decodeHParams([
      ['hpView', 'pie'],
      ['hpSort', '-'],
      ['hpFilter', '[not json'],
      ['hpFilter', '{"a":1}'],
      ['hpFilter', '["h:lr","x",2]'],
      ['hpStatus', 'bogus,success'],
      ['hpPageSize', '-5'],
      ['hpPage', 'two'],
      ['hpScale', 'cubic:h:lr'],
      ['hpColor', ''],
    ]);
    expect(state).toEqual({ ...DEFAULT_HPARAMS, query: { ...DEFAULT_QUERY, statuses: ['success'] } });
    expect(decodeFilter('["h:x"]')).toBeNull();
  });
});

describe('hparams axis labels', () => {
  it('rounds to four significant digits', () => {
    expect(formatTick(0.98277)).toBe('0.9828');
    expect(formatTick(0.61)).toBe('0.61');
    expect(formatTick(123456.7)).toBe('123500');
    expect(formatTick(0.000012345)).toBe('1.23e-5');
    expect(formatTick(0)).toBe('0');
    expect(formatTick(-Infinity)).toBe('-∞');
  });

  it('picks round ticks inside the range', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.55, 0.9, 4)).toEqual([0.6, 0.7, 0.8, 0.9]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });

  it('ticks linear axes at round values plus the ends, log axes at powers of ten', () => {
    const linear = numericScale([0.55, 0.61, 0.72, 0.83, 0.9], 'linear').ticks;
    expect(linear).toEqual([0.55, 0.6, 0.7, 0.8, 0.9]);
    const log = numericScale([0.001, 0.01, 0.1, 0.3], 'log').ticks;
    expect(log).toEqual([0.001, 0.01, 0.1, 0.3]);
  });

  it('sizes scatter plots to the container', () => {
    expect(plotSize(400, 3)).toBe(MIN_PLOT);
    expect(plotSize(5000, 3)).toBe(MAX_PLOT);
    const mid = plotSize(1000, 3);
    expect(mid).toBeGreaterThan(MIN_PLOT);
    expect(mid).toBeLessThan(MAX_PLOT);
  });
});
