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
  const compiled = compileRegex(source, 'i');
  return compiled instanceof RegExp
    ? { source, regex: compiled, error: null }
    : { source, regex: null, error: `Invalid regex: ${compiled}` };
}

/** Longest pattern compiled (as the server's limit). */
export const MAX_PATTERN_LENGTH = 1000;
/** Most unbounded repeats (`*`, `+`, `{n,}`) one pattern may hold. */
export const MAX_UNBOUNDED_REPEATS = 6;

/**
 * `source` compiled with `flags`, or why it is refused: its syntax, or a shape on which the
 * browser's backtracking engine can run for minutes and freeze the tab (`(.|.|.)*x` against a
 * 22-character name: 100 s in V8). Filters travel in shared links (`tagFilter=`), so one link
 * could freeze whoever opens it. Refused: a repeated group that holds a repeat or an
 * alternative (`(a+)+`, `(a|aa)*`, `(.|.|.)*`: exponential), and more than
 * MAX_UNBOUNDED_REPEATS unbounded repeats (`.*.*.*.*.*.*.*x`: a polynomial of high degree).
 * A screen, not a proof: other slow shapes exist, but these are the usual ones.
 */
export function compileRegex(source: string, flags = ''): RegExp | string {
  if (source.length > MAX_PATTERN_LENGTH) return `longer than ${MAX_PATTERN_LENGTH} characters`;
  let regex: RegExp;
  try {
    // No 'g' flag: RegExp.test is then stateless (no lastIndex carried between runs).
    regex = new RegExp(source, flags);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return backtrackingRisk(source) ?? regex;
}

/** Why `source` (a valid regex) may backtrack catastrophically, or null. */
export function backtrackingRisk(source: string): string | null {
  // Per open group: whether it holds a repeat or an alternative (at any depth).
  const groups: boolean[] = [];
  let unbounded = 0;
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '[') {
      i = classEnd(source, i);
      continue;
    }
    if (c === '(') {
      groups.push(false);
      i += 1;
      continue;
    }
    if (c === '|' && groups.length > 0) groups[groups.length - 1] = true;
    const repeat = repeatAt(source, i);
    let holdsRepeats = false;
    let next = i + 1;
    if (c === ')') {
      holdsRepeats = groups.pop() ?? false;
      const after = repeatAt(source, next);
      if (after !== null && after.many) {
        if (holdsRepeats) return 'a repeated group holds a repeat or an alternative (too slow to match)';
        if (groups.length > 0) groups[groups.length - 1] = true;
        if (after.unbounded) unbounded += 1;
        next = after.end;
      } else if (holdsRepeats && groups.length > 0) {
        groups[groups.length - 1] = true;
      }
    } else if (repeat !== null) {
      if (groups.length > 0 && repeat.many) groups[groups.length - 1] = true;
      if (repeat.unbounded) unbounded += 1;
      next = repeat.end;
    }
    if (unbounded > MAX_UNBOUNDED_REPEATS) {
      return `more than ${MAX_UNBOUNDED_REPEATS} unbounded repeats (too slow to match)`;
    }
    i = next;
  }
  return null;
}

/** The repeat (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, lazy or not) starting at `i`, if any. */
function repeatAt(source: string, i: number): { many: boolean; unbounded: boolean; end: number } | null {
  const c = source[i];
  let end = i + 1;
  let many = c === '*' || c === '+';
  let unbounded = many;
  if (c === '{') {
    const found = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
    if (found === null) return null;
    end = i + found[0].length;
    const low = Number(found[1]);
    const high = found[2] === undefined ? low : found[3] === '' ? Infinity : Number(found[3]);
    many = high > 1;
    unbounded = high === Infinity;
  } else if (c !== '?' && !many) {
    return null;
  }
  if (source[end] === '?') end += 1; // lazy
  return { many, unbounded, end };
}

/** The index after the character class that opens at `start`. */
function classEnd(source: string, start: number): number {
  let i = start + 1;
  if (source[i] === '^') i += 1;
  if (source[i] === ']') i += 1; // a leading ']' is a character
  while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
  return i + 1;
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
