/**
 * Which runs are selected. Stored relative to "all runs" so that a run that appears later
 * (training just started) is shown by default, unless the user picked an explicit set.
 */

export interface RunSelection {
  /** 'all': every run except `runs`; 'only': exactly `runs`. */
  mode: 'all' | 'only';
  runs: string[];
}

export const ALL_RUNS: RunSelection = { mode: 'all', runs: [] };
export const NO_RUNS: RunSelection = { mode: 'only', runs: [] };

export function isSelected(selection: RunSelection, run: string): boolean {
  const listed = selection.runs.includes(run);
  return selection.mode === 'all' ? !listed : listed;
}

/** `selection` with each of `runs` turned on or off. */
export function setSelected(selection: RunSelection, runs: string[], on: boolean): RunSelection {
  const listed = new Set(selection.runs);
  // In 'all' mode the list holds the hidden runs, in 'only' mode the shown ones.
  const addToList = selection.mode === 'all' ? !on : on;
  for (const run of runs) {
    if (addToList) listed.add(run);
    else listed.delete(run);
  }
  return { mode: selection.mode, runs: [...listed].sort() };
}

/** Double-click on a run: show only it. */
export function solo(run: string): RunSelection {
  return { mode: 'only', runs: [run] };
}

/** Select all (or none) of `visible`, the runs the run filter shows; `all` are every run. */
export function selectAll(
  selection: RunSelection,
  visible: string[],
  all: string[],
  on: boolean,
): RunSelection {
  if (visible.length === all.length) return on ? ALL_RUNS : NO_RUNS;
  return setSelected(selection, visible, on);
}
