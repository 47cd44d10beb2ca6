import { describe, expect, it } from 'vitest';

import type { PluginInfo, PluginsListing } from '../src/core/api';
import { orderPlugins } from '../src/dashboards/order';
import {
  buildGroups,
  cardId,
  encodeKinds,
  encodePins,
  KINDS,
  parseKinds,
  parsePins,
  togglePin,
  withTimeSeriesTab,
  type Kind,
} from '../src/dashboards/timeseries/model';

const info = (enabled: boolean): PluginInfo => ({
  enabled,
  tab_name: '',
  disable_reload: false,
  remove_dom: false,
  loading_mechanism: { type: 'NONE' },
});

const TAGS = {
  scalars: { a: { 'loss/train': {}, 'loss/val': {}, lr: {} }, b: { 'loss/train': {} } },
  images: { a: { 'loss/samples': {}, 'input/x': {} }, b: { 'loss/samples': {} } },
  histograms: { b: { 'loss/grad': {}, 'weights/w': {} } },
};
const ALL = new Set<Kind>(KINDS);

describe('Time Series tab', () => {
  it('is enabled when scalars, images or histograms has data, and comes after Scalars (and Health)', () => {
    const listing: PluginsListing = { scalars: info(false), images: info(true), text: info(true) };
    const out = withTimeSeriesTab(listing);
    expect(out.timeseries?.enabled).toBe(true);
    expect(out.timeseries?.tab_name).toBe('Time Series');
    expect(out.text).toBe(listing.text);
    expect(withTimeSeriesTab({ text: info(true), histograms: info(false) }).timeseries?.enabled).toBe(false);
    expect(orderPlugins(Object.keys(out))).toEqual(['scalars', 'timeseries', 'images', 'text']);
    expect(orderPlugins([...Object.keys(out), 'health'])).toEqual(['scalars', 'health', 'timeseries', 'images', 'text']);
  });
});

describe('buildGroups', () => {
  it('mixes the three types in one group per prefix, scalars then images then histograms per tag', () => {
    const groups = buildGroups(TAGS, ['a', 'b'], null, ALL);
    expect(groups.map((g) => g.name)).toEqual(['input', 'loss', 'lr', 'weights']);
    const loss = groups.find((g) => g.name === 'loss')!;
    expect(loss.cards).toEqual([
      { kind: 'histograms', tag: 'loss/grad', run: 'b' },
      { kind: 'images', tag: 'loss/samples', run: 'a' },
      { kind: 'images', tag: 'loss/samples', run: 'b' },
      { kind: 'scalars', tag: 'loss/train' },
      { kind: 'scalars', tag: 'loss/val' },
    ]);
  });

  it('applies the type filter, the tag regex and the shown runs', () => {
    const noImages = buildGroups(TAGS, ['a', 'b'], null, new Set<Kind>(['scalars', 'histograms']));
    expect(noImages.flatMap((g) => g.cards).some((c) => c.kind === 'images')).toBe(false);
    expect(noImages.map((g) => g.name)).toEqual(['loss', 'lr', 'weights']);
    const filtered = buildGroups(TAGS, ['a', 'b'], /train|samples/i, ALL);
    expect(filtered.flatMap((g) => g.cards).map((c) => c.tag)).toEqual(['loss/samples', 'loss/samples', 'loss/train']);
    const onlyA = buildGroups(TAGS, ['a'], null, ALL).flatMap((g) => g.cards);
    expect(onlyA.some((c) => c.kind === 'histograms' || c.run === 'b')).toBe(false);
  });
});

describe('pins and types in the URL', () => {
  it('round-trips image and histogram pins and drops malformed or scalar ones', () => {
    const pins = [
      { kind: 'images' as const, tag: 'loss/samples', run: 'a' },
      { kind: 'histograms' as const, tag: 'weights/w', run: 'b' },
    ];
    expect(parsePins(encodePins(pins))).toEqual(pins);
    expect(parsePins('[{"plugin":"scalars","tag":"x"},{"plugin":"images","tag":"y"},3,"z"]')).toEqual([]);
    expect(parsePins('not json')).toEqual([]);
    expect(parsePins(null)).toEqual([]);
  });

  it('toggles a pin on at the end and off again', () => {
    const a = { kind: 'images' as const, tag: 't', run: 'a' };
    const b = { kind: 'histograms' as const, tag: 't', run: 'a' };
    const on = togglePin(togglePin([], a), b);
    expect(on.map(cardId)).toEqual([cardId(a), cardId(b)]);
    expect(togglePin(on, { ...a })).toEqual([b]);
  });

  it('writes the type filter only when some type is hidden', () => {
    expect(encodeKinds(ALL)).toBeNull();
    expect(encodeKinds(new Set<Kind>(['scalars']))).toBe('scalars');
    expect([...parseKinds('scalars,histograms')]).toEqual(['scalars', 'histograms']);
    expect([...parseKinds(null)]).toEqual([...KINDS]);
    expect([...parseKinds('')]).toEqual([]);
  });
});
