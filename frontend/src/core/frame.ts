/**
 * Redraws are batched per animation frame: a chart asks for one with `scheduleFrame(key, task)`,
 * and however many state changes arrive before the next frame, each key's latest task runs once.
 */

const pending = new Map<unknown, () => void>();
let handle = 0;

function flush(): void {
  handle = 0;
  const tasks = [...pending.values()];
  pending.clear();
  for (const task of tasks) {
    try {
      task();
    } catch (error) {
      console.error(error);
    }
  }
}

export function scheduleFrame(key: unknown, task: () => void): void {
  pending.set(key, task);
  if (!handle) handle = requestAnimationFrame(flush);
}

export function cancelFrame(key: unknown): void {
  pending.delete(key);
}

export interface Debounced<A extends unknown[]> {
  (...args: A): void;
  cancel(): void;
}

/** `fn` called `ms` after the last call (filters: no refetch on every keystroke). */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): Debounced<A> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const debounced = (...args: A) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      fn(...args);
    }, ms);
  };
  debounced.cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  return debounced;
}
