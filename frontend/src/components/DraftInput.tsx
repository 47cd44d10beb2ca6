/** A text field committed on change that keeps what the user types across re-renders (useDraft). */
import type { JSX } from 'preact';

import { useDraft } from '../core/draft';

export interface DraftInputProps {
  value: string | number;
  onCommit(text: string): void;
  class?: string;
  placeholder?: string;
  inputMode?: 'decimal';
  'aria-label'?: string;
  'data-testid': string;
  'data-column'?: string;
}

export function DraftInput({ value, onCommit, ...attributes }: DraftInputProps): JSX.Element {
  return <input type="text" {...attributes} {...useDraft(value, onCommit)} />;
}
