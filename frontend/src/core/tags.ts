/** Tag order and grouping, as TensorBoard's Time Series dashboard does them. */

const CHUNK = /(\d+)|(\D+)/g;

function chunks(text: string): string[] {
  return text.match(CHUNK) ?? [];
}

function isDigits(text: string): boolean {
  const code = text.charCodeAt(0);
  return code >= 48 && code <= 57;
}

function compareComponent(a: string, b: string): number {
  const left = chunks(a);
  const right = chunks(b);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = left[i]!;
    const y = right[i]!;
    if (x === y) continue;
    if (isDigits(x) && isDigits(y)) {
      // Numerically, without overflow: strip leading zeros, then longer is bigger.
      const u = x.replace(/^0+(?=\d)/, '');
      const v = y.replace(/^0+(?=\d)/, '');
      if (u.length !== v.length) return u.length - v.length;
      if (u !== v) return u < v ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  return left.length - right.length;
}

/** "Asciinumeric", slash-aware order: `a2 < a10`, `a/b < a_b`, then plain order on ties. */
export function compareTags(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = compareComponent(left[i]!, right[i]!);
    if (order !== 0) return order;
  }
  if (left.length !== right.length) return left.length - right.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The card group of a tag: its part before the first `/` (`tag.split('/', 1)[0]` in TB). */
export function tagGroup(tag: string): string {
  const slash = tag.indexOf('/');
  return slash < 0 ? tag : tag.slice(0, slash);
}

export interface TagGroup {
  name: string;
  tags: string[];
}

/** Tags sorted and grouped by prefix, groups in the order of their first tag. */
export function groupTags(tags: Iterable<string>): TagGroup[] {
  const sorted = [...tags].sort(compareTags);
  const groups = new Map<string, string[]>();
  for (const tag of sorted) {
    const name = tagGroup(tag);
    let list = groups.get(name);
    if (!list) groups.set(name, (list = []));
    list.push(tag);
  }
  return [...groups].map(([name, list]) => ({ name, tags: list }));
}
