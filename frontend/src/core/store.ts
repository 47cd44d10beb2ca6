/** A small observable store (the app's state containers) and the hook that reads one. */
import { useEffect, useState } from 'preact/hooks';

type Listener<T> = (state: T, previous: T) => void;

export class Store<T extends object> {
  private listeners = new Set<Listener<T>>();

  constructor(private state: T) {}

  get(): T {
    return this.state;
  }

  /** Merge `patch` into the state; listeners run only when some key changed (Object.is). */
  set(patch: Partial<T> | ((state: T) => Partial<T>)): void {
    const changes = typeof patch === 'function' ? patch(this.state) : patch;
    let changed = false;
    for (const key of Object.keys(changes) as (keyof T)[]) {
      if (!Object.is(changes[key], this.state[key])) {
        changed = true;
        break;
      }
    }
    if (!changed) return;
    const previous = this.state;
    this.state = { ...this.state, ...changes };
    for (const listener of [...this.listeners]) listener(this.state, previous);
  }

  subscribe(listener: Listener<T>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The part of a store's state `select` picks; the component re-renders when it changes. */
export function useStore<T extends object, S>(store: Store<T>, select: (state: T) => S): S {
  const [value, setValue] = useState(() => select(store.get()));
  useEffect(() => {
    setValue(() => select(store.get()));
    return store.subscribe((state) => setValue(() => select(state)));
    // `select` is usually an inline arrow: subscribing once per store is what we want.
  }, [store]);
  return value;
}
