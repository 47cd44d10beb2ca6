/**
 * The Time Series view's own query keys, `tsPinned` (image and histogram pins) and `tsTypes`
 * (the type filter). The shell's URL writer keeps keys it does not own, so these survive its
 * writes and a reload, and travel in a copied link.
 */
import { Store } from '../../core/store';
import { encodeKinds, encodePins, parseKinds, parsePins, type Kind, type SeriesCard } from './model';

export interface SeriesUrlState {
  pins: SeriesCard[];
  kinds: Set<Kind>;
}

function read(): SeriesUrlState {
  const params = new URLSearchParams(location.search);
  return { pins: parsePins(params.get('tsPinned')), kinds: parseKinds(params.get('tsTypes')) };
}

function write(state: SeriesUrlState): void {
  const params = new URLSearchParams(location.search);
  if (state.pins.length) params.set('tsPinned', encodePins(state.pins));
  else params.delete('tsPinned');
  const kinds = encodeKinds(state.kinds);
  if (kinds === null) params.delete('tsTypes');
  else params.set('tsTypes', kinds);
  const query = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
}

let store: Store<SeriesUrlState> | null = null;

/** The state, read from the URL once and written back on every change. */
export function seriesUrlStore(): Store<SeriesUrlState> {
  if (store === null) {
    store = new Store(read());
    store.subscribe(write);
    window.addEventListener('popstate', () => store?.set(read()));
  }
  return store;
}
