/**
 * A text or number field committed by its change event (Enter, leaving the field, a spinner
 * click) shows the user's draft while they edit it, not the committed value: a re-render
 * before the commit (an auto-reload's new data, another setting applied) would otherwise put
 * the committed value back into the field and drop what they typed.
 */
import { useState } from 'preact/hooks';

export interface DraftField {
  value: string;
  onInput(event: Event): void;
  onChange(event: Event): void;
  onBlur(): void;
}

/** The props to spread into an `<input>` showing `value`, calling `commit` with its text on change. */
export function useDraft(value: string | number, commit: (text: string) => void): DraftField {
  const [draft, setDraft] = useState<string | null>(null);
  return {
    value: draft ?? String(value),
    onInput: (event) => setDraft((event.currentTarget as HTMLInputElement).value),
    onChange: (event) => {
      setDraft(null);
      commit((event.currentTarget as HTMLInputElement).value);
    },
    onBlur: () => setDraft(null),
  };
}
