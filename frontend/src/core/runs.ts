/** The runs a dashboard shows: selected, and matching the run filter. */
import { matches, parseFilter } from './regex';
import { isSelected, type RunSelection } from './selection';

/** Runs matching `runFilter` (an invalid filter is never committed, so it matches all here). */
export function filterRuns(runs: readonly string[], runFilter: string): string[] {
  const regex = parseFilter(runFilter).regex;
  return runs.filter((run) => matches(regex, run));
}

export function shownRuns(runs: readonly string[], runFilter: string, selection: RunSelection): string[] {
  return filterRuns(runs, runFilter).filter((run) => isSelected(selection, run));
}
