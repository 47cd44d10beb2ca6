/**
 * The key a snapshot stores an answer under: the URL's path (no leading `./` or `/`) and its
 * query parameters sorted by name (values of one name keep their order), each part as
 * `encodeURIComponent` writes it. The generator computes the same key in Python
 * (`lumiboard/snapshot_asgi.py` `request_key`), so however the app orders or encodes a query,
 * one request has one key.
 */
export function requestKey(url: string): string {
  const parsed = new URL(url, 'http://snapshot.invalid/');
  const path = decodeURIComponent(parsed.pathname).replace(/^\/+/, '');
  const pairs = [...parsed.searchParams.entries()];
  // Array.prototype.sort is stable: values of one name keep their order.
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const query = pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
  return query ? `${path}?${query}` : path;
}

/** The path of a snapshot key or relative URL (`data/plugin/scalars/series`). */
export function pathOf(url: string): string {
  return requestKey(url).split('?', 1)[0]!;
}
