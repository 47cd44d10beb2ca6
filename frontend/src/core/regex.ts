/** Regex filters for runs and tags, as TensorBoard's: case-insensitive, invalid ones flagged. */

export interface Filter {
  /** The text the user typed. */
  source: string;
  /** null when the text is empty (everything matches) or invalid. */
  regex: RegExp | null;
  /** "Invalid regex" (with the browser's reason) when the text does not compile. */
  error: string | null;
}

export function parseFilter(source: string): Filter {
  if (source === '') return { source, regex: null, error: null };
  try {
    // No 'g' flag: RegExp.test is then stateless (no lastIndex carried between runs).
    return { source, regex: new RegExp(source, 'i'), error: null };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { source, regex: null, error: `Invalid regex: ${reason}` };
  }
}

/**
 * The regex to apply while the user types: the new one when valid, else the last valid one
 * (TensorBoard: "Invalid regex filter. The result may be stale.").
 */
export function effectiveRegex(filter: Filter, lastValid: RegExp | null): RegExp | null {
  return filter.error ? lastValid : filter.regex;
}

export function matches(regex: RegExp | null, text: string): boolean {
  return regex === null || regex.test(text);
}

/** `text` as a regex that matches it literally. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Autocomplete for a filter box: the candidates the typed text matches (as a regex when it is
 * one, else as plain text), those starting with it first, then in the given order; at most
 * `limit`. Nothing for empty text or when the only match is the text itself.
 */
export function suggest(text: string, candidates: readonly string[], limit = 10): string[] {
  if (!text) return [];
  const regex = parseFilter(text).regex;
  const lower = text.toLowerCase();
  const test = (c: string) => (regex ? regex.test(c) : c.toLowerCase().includes(lower));
  const starts: string[] = [];
  const others: string[] = [];
  for (const candidate of candidates) {
    if (!test(candidate)) continue;
    (candidate.toLowerCase().startsWith(lower) ? starts : others).push(candidate);
  }
  const found = [...starts, ...others].slice(0, limit);
  const exact = (name: string) => name === text || `^${escapeRegex(name)}$` === text || escapeRegex(name) === text;
  return found.length === 1 && exact(found[0]!) ? [] : found;
}
