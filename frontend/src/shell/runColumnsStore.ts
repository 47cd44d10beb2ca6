/** The runs panel's column choices, kept in this browser's localStorage. */
import { persistedStore } from '../core/settings';
import type { Store } from '../core/store';
import { parsePrefs, type RunColumnsPrefs } from './runColumns';

const KEY = 'lumiboard.runColumns';
let prefsStore: Store<RunColumnsPrefs> | null = null;

export function runColumnsPrefs(): Store<RunColumnsPrefs> {
  prefsStore ??= persistedStore(KEY, (storage) => {
    try {
      return parsePrefs(storage?.getItem(KEY) ?? null);
    } catch {
      return parsePrefs(null);
    }
  });
  return prefsStore;
}
