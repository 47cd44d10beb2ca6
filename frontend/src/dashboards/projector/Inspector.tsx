/** The projector's right-hand panel: search, selection, nearest neighbours, bookmarks. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import type { Bookmark } from './bookmarks';
import type { Distance, Neighbor } from './linalg';

export interface InspectorProps {
  columns: string[];
  searchColumn: number;
  onSearchColumn(column: number): void;
  query: string;
  onQuery(text: string): void;
  regex: boolean;
  onRegex(on: boolean): void;
  matches: number[];
  searchError: string | null;
  labelOf(index: number): string;
  selected: number[];
  onSelect(indices: number[]): void;
  neighbors: Neighbor[];
  distance: Distance;
  onDistance(d: Distance): void;
  neighborCount: number;
  onNeighborCount(k: number): void;
  isolated: boolean;
  onIsolate(): void;
  onShowAll(): void;
  bookmarks: Bookmark[];
  onSaveBookmark(name: string): void;
  onLoadBookmark(b: Bookmark): void;
  onDeleteBookmark(b: Bookmark): void;
}

const LIST_MAX = 100;

export function Inspector(props: InspectorProps): JSX.Element {
  const [name, setName] = useState('');
  const { selected, neighbors, matches } = props;
  return (
    <aside class="projector__inspector" data-testid="projector-inspector">
      <section class="projector__panel">
        <h3>Search</h3>
        <div class="projector__row">
          <input
            type="search"
            class="projector__search"
            placeholder={props.regex ? 'Regex' : 'Search'}
            data-testid="projector-search"
            value={props.query}
            onInput={(e) => props.onQuery(e.currentTarget.value)}
          />
          <label class="projector__check" title="Treat the search as a regular expression">
            <input type="checkbox" checked={props.regex} data-testid="projector-regex" onChange={(e) => props.onRegex(e.currentTarget.checked)} />
            .*
          </label>
        </div>
        {props.columns.length > 1 ? (
          <label class="projector__field">
            <span>by</span>
            <select value={String(props.searchColumn)} data-testid="projector-search-by" onChange={(e) => props.onSearchColumn(Number(e.currentTarget.value))}>
              {props.columns.map((c, i) => (
                <option key={c + i} value={String(i)}>
                  {c}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {props.searchError ? <div class="notice notice--error">{props.searchError}</div> : null}
        {props.query && !props.searchError ? (
          <>
            <p class="projector__meta" data-testid="projector-match-count">
              {matches.length.toLocaleString()} matches
              {matches.length ? (
                <>
                  {' '}
                  <button type="button" class="link-button" onClick={() => props.onSelect(matches)}>
                    select all
                  </button>
                </>
              ) : null}
            </p>
            <ul class="projector__list" data-testid="projector-matches">
              {matches.slice(0, LIST_MAX).map((i) => (
                <li key={i}>
                  <button type="button" class="link-button" onClick={() => props.onSelect([i])}>
                    {props.labelOf(i)}
                  </button>
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </section>
      <section class="projector__panel" data-testid="projector-selection">
        <h3>Selection</h3>
        {selected.length === 0 ? (
          <p class="projector__muted">Click a point, or shift-drag a box, to select.</p>
        ) : (
          <p class="projector__meta" data-testid="projector-selected">
            {selected.length === 1 ? <b>{props.labelOf(selected[0]!)}</b> : `${selected.length.toLocaleString()} points selected`}
          </p>
        )}
        <div class="projector__tabs">
          <button type="button" class="button" data-testid="projector-isolate" disabled={!selected.length} onClick={props.onIsolate}>
            Isolate selection
          </button>
          <button type="button" class="button" data-testid="projector-clear" disabled={!selected.length} onClick={() => props.onSelect([])}>
            Clear selection
          </button>
          <button type="button" class="button" data-testid="projector-show-all" disabled={!props.isolated} onClick={props.onShowAll}>
            Show all data
          </button>
        </div>
        {selected.length === 1 ? (
          <>
            <div class="projector__row">
              <span>Neighbours</span>
              {(['cosine', 'euclidean'] as const).map((d) => (
                <label class="projector__check" key={d}>
                  <input type="radio" name="projector-distance" checked={props.distance === d} data-testid={`projector-distance-${d}`} onChange={() => props.onDistance(d)} />
                  {d === 'cosine' ? 'Cosine' : 'Euclidean'}
                </label>
              ))}
            </div>
            <label class="projector__field">
              <span>
                Count <b>{props.neighborCount}</b>
              </span>
              <input
                type="range"
                min={1}
                max={100}
                value={props.neighborCount}
                data-testid="projector-neighbor-count"
                onInput={(e) => props.onNeighborCount(Number(e.currentTarget.value))}
              />
            </label>
            <ol class="projector__list projector__neighbors" data-testid="projector-neighbors">
              {neighbors.map((n) => (
                <li key={n.index} data-index={n.index}>
                  <button type="button" class="link-button" onClick={() => props.onSelect([n.index])}>
                    {props.labelOf(n.index)}
                  </button>
                  <span class="projector__distance">{n.distance.toFixed(3)}</span>
                </li>
              ))}
            </ol>
          </>
        ) : null}
      </section>
      <section class="projector__panel" data-testid="projector-bookmarks">
        <h3>Bookmarks</h3>
        <div class="projector__row">
          <input type="text" placeholder="Name" value={name} data-testid="projector-bookmark-name" onInput={(e) => setName(e.currentTarget.value)} />
          <button
            type="button"
            class="button"
            data-testid="projector-bookmark-save"
            onClick={() => {
              props.onSaveBookmark(name.trim() || `Bookmark ${props.bookmarks.length + 1}`);
              setName('');
            }}
          >
            Save
          </button>
        </div>
        <ul class="projector__list">
          {props.bookmarks.map((b, i) => (
            <li key={`${b.name}-${i}`}>
              <button type="button" class="link-button" onClick={() => props.onLoadBookmark(b)}>
                {b.name}
              </button>{' '}
              <span class="projector__muted">
                {b.method.toUpperCase()} {b.dims}D{b.selected.length ? `, ${b.selected.length} selected` : ''}
                {b.fromServer ? ', from the log directory' : ''}
              </span>
              {b.fromServer ? null : (
                <button type="button" class="link-button projector__delete" title="Delete" onClick={() => props.onDeleteBookmark(b)}>
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
      </section>
    </aside>
  );
}
