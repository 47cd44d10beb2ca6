/**
 * A regex filter box: applies what was typed after a short pause (no refetch per keystroke),
 * at once on Enter, and flags an invalid regex, which is never applied: the last valid filter
 * stays in force (TensorBoard: "Invalid regex filter. The result may be stale.").
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';

import { debounce } from '../core/frame';
import { parseFilter } from '../core/regex';

export interface FilterInputProps {
  value: string;
  onCommit(value: string): void;
  placeholder: string;
  testid: string;
  label: string;
}

export function FilterInput({ value, onCommit, placeholder, testid, label }: FilterInputProps): JSX.Element {
  const [text, setText] = useState(value);
  const commit = useMemo(() => debounce((next: string) => onCommit(next), 250), [onCommit]);
  useEffect(() => () => commit.cancel(), [commit]);
  // The committed value can change from outside (back button, a deep link).
  useEffect(() => setText(value), [value]);
  const error = parseFilter(text).error;
  return (
    <div class={`filter ${error ? 'filter--invalid' : ''}`}>
      <input
        type="search"
        class="filter__input"
        value={text}
        placeholder={placeholder}
        aria-label={label}
        aria-invalid={error ? 'true' : 'false'}
        spellcheck={false}
        data-testid={testid}
        onInput={(e) => {
          const next = e.currentTarget.value;
          setText(next);
          if (parseFilter(next).error) commit.cancel();
          else commit(next);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !parseFilter(e.currentTarget.value).error) {
            commit.cancel();
            onCommit(e.currentTarget.value);
          }
        }}
      />
      {error ? (
        <div class="filter__error" role="alert" data-testid={`${testid}-error`} title={error}>
          Invalid regex
        </div>
      ) : null}
    </div>
  );
}
