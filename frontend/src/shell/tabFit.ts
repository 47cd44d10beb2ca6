/**
 * Which dashboard tabs fit the header: as many active tabs as the width allows, in order, the
 * rest go to the "More" menu; the current tab is always shown (in place of the last one that
 * fits, so the header does not change width when it is picked from the menu).
 */
export function fitTabs(
  tabs: readonly string[],
  widths: ReadonlyMap<string, number>,
  available: number,
  current: string,
  /** Width for a tab not measured yet. */
  guess = 110,
): { shown: string[]; hidden: string[] } {
  let used = 0;
  let count = 0;
  for (const name of tabs) {
    const width = widths.get(name) ?? guess;
    if (used + width > available) break;
    used += width;
    count++;
  }
  const shown = tabs.slice(0, count);
  const hidden = tabs.slice(count);
  const at = hidden.indexOf(current);
  if (at >= 0) {
    if (shown.length) hidden.splice(at, 1, shown.pop()!);
    else hidden.splice(at, 1);
    shown.push(current);
    hidden.sort((a, b) => tabs.indexOf(a) - tabs.indexOf(b));
  }
  return { shown, hidden };
}
