/**
 * The runs panel's column controls: which hparam / metric columns to show (ColumnsMenu), and
 * the header row that sorts by a column and filters on it (ColumnsHead).
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';

import { EXPERIMENT_GROUP_PATTERN } from '../charts/aggregate';
import type { RunColors } from '../core/colors';
import { debounce } from '../core/frame';

import type { RunColumns, RunColumnsPrefs, RunSort } from './runColumns';
import { runColumnsPrefs } from './runColumnsStore';

function update(patch: Partial<RunColumnsPrefs>): void {
  runColumnsPrefs().set(patch);
}

function toggleColumn(prefs: RunColumnsPrefs, id: string, on: boolean): void {
  const shown = prefs.shown.filter((c) => c !== id);
  update({ shown: on ? [...shown, id] : shown });
}

export function ColumnsMenu({ columns, prefs }: { columns: RunColumns; prefs: RunColumnsPrefs }): JSX.Element {
  const groups: [string, typeof columns.columns][] = [
    ['HParams', columns.columns.filter((c) => c.kind === 'hparam')],
    ['Metrics', columns.columns.filter((c) => c.kind === 'metric')],
  ];
  const count = prefs.shown.filter((id) => columns.columns.some((c) => c.id === id)).length;
  const ref = useRef<HTMLDetailsElement>(null);
  // A popover: Escape closes it (focus back on its button), as does a click outside it.
  useEffect(() => {
    const onPointer = (e: PointerEvent) => {
      const details = ref.current;
      if (details?.open && !details.contains(e.target as Node)) details.open = false;
    };
    document.addEventListener('pointerdown', onPointer);
    return () => document.removeEventListener('pointerdown', onPointer);
  }, []);
  const onKeyDown = (e: KeyboardEvent) => {
    const details = ref.current;
    if (e.key !== 'Escape' || !details?.open) return;
    e.preventDefault();
    details.open = false;
    details.querySelector('summary')?.focus();
  };
  return (
    <details class="runs__columns" data-testid="runs-columns" ref={ref} onKeyDown={onKeyDown}>
      <summary data-testid="runs-columns-button" title="Show hparam and metric columns beside the runs">
        Columns{count ? ` (${count})` : ''}
      </summary>
      <div class="runs__columns-menu">
        {groups.map(([title, list]) =>
          list.length ? (
            <fieldset key={title}>
              <legend>{title}</legend>
              {list.map((column) => (
                <label key={column.id} class="runs__column-option">
                  <input
                    type="checkbox"
                    data-testid="runs-column-toggle"
                    data-col={column.id}
                    checked={prefs.shown.includes(column.id)}
                    onChange={(e) => toggleColumn(prefs, column.id, e.currentTarget.checked)}
                  />
                  <span title={column.label}>{column.label}</span>
                </label>
              ))}
            </fieldset>
          ) : null,
        )}
        {count ? (
          <button type="button" class="link-button" data-testid="runs-columns-clear" onClick={() => update({ shown: [], filters: {}, sort: { column: '', descending: false } })}>
            hide all columns
          </button>
        ) : null}
      </div>
    </details>
  );
}

function nextSort(sort: RunSort, column: string): RunSort {
  if (sort.column !== column) return { column, descending: false };
  if (!sort.descending) return { column, descending: true };
  return { column: '', descending: false };
}

function arrow(sort: RunSort, column: string): string {
  if (sort.column !== column) return '';
  return sort.descending ? ' ▼' : ' ▲';
}

export function ColumnsHead({
  columns,
  prefs,
  errors,
}: {
  columns: RunColumns;
  prefs: RunColumnsPrefs;
  errors: Record<string, string>;
}): JSX.Element {
  const shown = prefs.shown
    .map((id) => columns.columns.find((c) => c.id === id))
    .filter((c) => c !== undefined);
  return (
    <div class="runs__head" data-testid="runs-columns-head">
      <span class="runs__head-run">
        <button
          type="button"
          class="link-button"
          data-testid="runs-col-sort"
          data-col=""
          title="Sort by run: the server's order (first event time, then name)"
          onClick={() => update({ sort: { column: '', descending: false } })}
        >
          Run
        </button>
      </span>
      {shown.map((column) => {
        const error = errors[column.id];
        return (
          <span class="runs__head-cell" key={column.id}>
            <button
              type="button"
              class="link-button runs__head-sort"
              data-testid="runs-col-sort"
              data-col={column.id}
              title={`Sort by ${column.label} (click again to reverse, a third time to clear)`}
              onClick={() => update({ sort: nextSort(prefs.sort, column.id) })}
            >
              {column.label}
              {arrow(prefs.sort, column.id)}
            </button>
            <input
              type="text"
              class={`runs__head-filter ${error ? 'runs__head-filter--invalid' : ''}`}
              data-testid="runs-col-filter"
              data-col={column.id}
              value={prefs.filters[column.id] ?? ''}
              placeholder={column.numeric ? '>0.1, 1..5' : 'text'}
              aria-label={`Filter by ${column.label}`}
              title={
                error ??
                (column.numeric
                  ? 'A number (equal), >x, >=x, <x, <=x, !=x, or a range a..b'
                  : 'Runs whose value contains this text')
              }
              onInput={(e) => update({ filters: { ...prefs.filters, [column.id]: e.currentTarget.value } })}
            />
          </span>
        );
      })}
    </div>
  );
}

/**
 * "Colour by regex": runs whose capture groups match share a colour (e.g. `(.*)_seed\d+` gives
 * every seed of a configuration one colour). An invalid regex is flagged and not applied.
 */
export function ColorByInput({ colors }: { colors: RunColors }): JSX.Element {
  const [text, setText] = useState(colors.colorByPattern);
  const [open, setOpen] = useState(colors.colorByPattern !== '');
  const [invalid, setInvalid] = useState(false);
  // Applied after a pause in typing, as the other filters: every run is recoloured each time.
  const apply = useMemo(
    () => debounce((next: string) => setInvalid(!colors.setColorBy(next)), 250),
    [colors],
  );
  useEffect(() => () => apply.cancel(), [apply]);
  const byExperiment = colors.colorByPattern === EXPERIMENT_GROUP_PATTERN;
  return (
    <>
    <details
      class="runs__colorby"
      open={open}
      onToggle={(e) => setOpen(e.currentTarget.open)}
      data-testid="runs-colorby"
    >
      <summary title="Give runs whose capture groups match one colour">Colour by regex</summary>
      <input
        type="text"
        class={`runs__colorby-input ${invalid ? 'runs__head-filter--invalid' : ''}`}
        value={text}
        placeholder="(.*)_seed\d+"
        aria-label="Colour runs by regex"
        aria-invalid={invalid ? 'true' : 'false'}
        spellcheck={false}
        data-testid="runs-colorby-input"
        onInput={(e) => {
          const next = e.currentTarget.value;
          setText(next);
          apply(next);
        }}
      />
    </details>
    {/* Outside the disclosure: grouping colours is one click from the runs panel. */}
    <button
      type="button"
      class="link-button runs__colorby-group"
      data-testid="runs-colorby-experiment"
      aria-pressed={byExperiment ? 'true' : 'false'}
      title="Keras's train/validation and Lightning's version_N runs of one experiment share a colour (click again for one colour per run)"
      onClick={() => {
        apply.cancel();
        const next = byExperiment ? '' : EXPERIMENT_GROUP_PATTERN;
        setText(next);
        setInvalid(!colors.setColorBy(next));
      }}
    >
      {byExperiment ? 'one colour per run' : 'one colour per experiment'}
    </button>
    </>
  );
}
