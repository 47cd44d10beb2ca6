/** The runs panel's column choices, kept in this browser's localStorage. */
import { browserStorage } from '../core/settings';
import { Store } from '../core/store';
import { parsePrefs, type RunColumnsPrefs } from './runColumns';

const KEY = 'lumiboard.runColumns';
let prefsStore: Store<RunColumnsPrefs> | null = null;

export function runColumnsPrefs(): Store<RunColumnsPrefs> {
  if (prefsStore) return prefsStore;
  const storage = browserStorage();
  let text: string | null = null;
  try {
    text = storage?.getItem(KEY) ?? null;
  } catch {
    text = null;
  }
  const store = new Store(parsePrefs(text));
  store.subscribe((state) => {
    try {
      storage?.setItem(KEY, JSON.stringify(state));
    } catch {
      // storage full or disabled: the choice still applies for this session
    }
  });
  prefsStore = store;
  return store;
}
