/**
 * A regex filter box: applies what was typed after a short pause (no refetch per keystroke),
 * at once on Enter, and flags an invalid regex, which is never applied: the last valid filter
 * stays in force (TensorBoard: "Invalid regex filter. The result may be stale.").
 *
 * With `suggestions` (e.g. the dashboard's tags) it autocompletes as TensorBoard's tag filter
 * does: the names the text matches drop down; arrows move, Enter or a click picks one (the
 * filter becomes exactly that name: `^name$`, escaped), Escape closes the list.
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useState } from 'preact/hooks';

import { debounce } from '../core/frame';
import { escapeRegex, parseFilter, suggest } from '../core/regex';

export interface FilterInputProps {
  value: string;
  onCommit(value: string): void;
  placeholder: string;
  testid: string;
  label: string;
  /** Names to autocomplete from (none: no autocomplete). */
  suggestions?: readonly string[];
}

export function FilterInput({
  value,
  onCommit,
  placeholder,
  testid,
  label,
  suggestions,
}: FilterInputProps): JSX.Element {
  const [text, setText] = useState(value);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const commit = useMemo(() => debounce((next: string) => onCommit(next), 250), [onCommit]);
  useEffect(() => () => commit.cancel(), [commit]);
  // The committed value can change from outside (back button, a deep link). A layout effect:
  // a plain effect runs after paint, and could put back a committed value over text typed
  // in between (the box then "forgets" an edit made right after pressing Enter).
  useLayoutEffect(() => setText(value), [value]);
  const error = parseFilter(text).error;
  const found = useMemo(() => (suggestions && open ? suggest(text, suggestions) : []), [suggestions, open, text]);
  const listId = `${testid}-suggestions`;
  // A highlighted name belongs to the list it was highlighted in: when the list changes (more
  // typing, tags arriving with a reload), nothing is highlighted, so Enter never picks a name
  // the user did not choose.
  const foundKey = found.join('\u0000');
  useLayoutEffect(() => setActive(-1), [foundKey]);

  const pick = (name: string) => {
    const next = `^${escapeRegex(name)}$`;
    setText(next);
    setOpen(false);
    setActive(-1);
    commit.cancel();
    onCommit(next);
  };

  return (
    <div class={`filter ${error ? 'filter--invalid' : ''}`}>
      <input
        type="search"
        class="filter__input"
        value={text}
        placeholder={placeholder}
        aria-label={label}
        aria-invalid={error ? 'true' : 'false'}
        // With suggestions it is a combobox: aria-expanded / aria-autocomplete need that role.
        // (spread: preact's types ask a combobox <input> for a `list` it does not need here).
        {...((suggestions ? { role: 'combobox' } : {}) as Record<string, string>)}
        aria-autocomplete={suggestions ? 'list' : undefined}
        aria-controls={found.length ? listId : undefined}
        aria-expanded={suggestions ? found.length > 0 : undefined}
        aria-activedescendant={active >= 0 && active < found.length ? `${listId}-${active}` : undefined}
        autocomplete="off"
        spellcheck={false}
        data-testid={testid}
        onInput={(e) => {
          const next = e.currentTarget.value;
          setText(next);
          setOpen(true);
          setActive(-1);
          if (parseFilter(next).error) commit.cancel();
          else commit(next);
        }}
        onBlur={() => setOpen(false)}
        onKeyDown={(e) => {
          if (found.length && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
            e.preventDefault();
            // -1 is the text itself; the arrows cycle through it and the names.
            const last = found.length - 1;
            if (e.key === 'ArrowDown') setActive((i) => (i >= last ? -1 : i + 1));
            else setActive((i) => (i <= -1 ? last : i - 1));
            return;
          }
          if (e.key === 'Escape' && found.length) {
            e.preventDefault();
            setOpen(false);
            return;
          }
          if (e.key === 'Enter') {
            if (active >= 0 && active < found.length) {
              e.preventDefault();
              pick(found[active]);
              return;
            }
            setOpen(false);
            if (!parseFilter(e.currentTarget.value).error) {
              commit.cancel();
              onCommit(e.currentTarget.value);
            }
          }
        }}
      />
      {found.length ? (
        <ul class="filter__suggestions" id={listId} role="listbox" data-testid={listId}>
          {found.map((name, i) => (
            <li
              key={name}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              class={`filter__suggestion ${i === active ? 'filter__suggestion--active' : ''}`}
              data-testid={`${testid}-suggestion`}
              title={name}
              // mousedown, not click: the input keeps its focus (a blur would close the list first).
              onMouseDown={(e) => {
                e.preventDefault();
                pick(name);
              }}
              onMouseEnter={() => setActive(i)}
            >
              {name}
            </li>
          ))}
        </ul>
      ) : null}
      {error ? (
        <div class="filter__error" role="alert" data-testid={`${testid}-error`} title={error}>
          Invalid regex
        </div>
      ) : null}
    </div>
  );
}
