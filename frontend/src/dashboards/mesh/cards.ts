/** Which cards the Mesh dashboard shows: one per (mesh name, run), runs in the runs panel's order. */
import type { MeshTags } from './model';

/** Mesh name -> the shown runs that logged it (in `shown`'s order). */
export function cardsOf(tags: MeshTags, shown: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const run of shown) {
    for (const name of Object.keys(tags[run] ?? {})) {
      let runs = out.get(name);
      if (!runs) out.set(name, (runs = []));
      runs.push(run);
    }
  }
  return out;
}

/** One string per card (CardGroup pages over strings); any run or mesh name survives the trip. */
export function cardKey(name: string, run: string): string {
  return JSON.stringify([name, run]);
}

export function parseCardKey(key: string): [string, string] {
  const [name, run] = JSON.parse(key) as [string, string];
  return [name, run];
}
