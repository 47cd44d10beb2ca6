import { describe, expect, it } from 'vitest';

import type { Environment, Status } from '../src/core/api';
import { logdirName, pageTitle, serverNotices } from '../src/shell/serverNotices';

function status(extra: Partial<Status>): Status {
  return {
    loading: false,
    runs_total: 0,
    runs_done: 0,
    bytes_total: 0,
    bytes_done: 0,
    passes: 1,
    skipped: {},
    notes: [],
    ...extra,
  };
}

function environment(data_location: string, window_title = ''): Environment {
  return { version: '0', data_location, window_title };
}

describe('serverNotices', () => {
  it('says nothing before the first status, or when all is there', () => {
    expect(serverNotices(null)).toEqual([]);
    expect(serverNotices(status({ native_scanner: true, logdirs: [{ name: null, path: '/x', exists: true }] }))).toEqual(
      [],
    );
    // An older server that reports neither.
    expect(serverNotices(status({}))).toEqual([]);
  });

  it('names each log directory that does not exist, not those it could not probe', () => {
    const notices = serverNotices(
      status({
        native_scanner: true,
        logdirs: [
          { name: 'a', path: '/there', exists: true },
          { name: 'b', path: '/x/y', exists: false },
          { name: null, path: 's3://bucket/runs', exists: null },
        ],
      }),
    );
    expect(notices).toHaveLength(1);
    const [notice] = notices;
    expect(`${notice.text} ${notice.code}${notice.after}`).toMatch(/^Log directory \/x\/y does not exist\./);
  });

  it('says the native scanner is missing, and what to do', () => {
    const [notice] = serverNotices(status({ native_scanner: false }));
    expect(notice.key).toBe('native');
    expect(notice.text).toContain('100×');
    expect(notice.text).toContain('wheel');
    expect(notice.text).toContain('compiler');
  });
});

describe('pageTitle', () => {
  it('names the log directory', () => {
    expect(pageTitle(environment('logs'))).toBe('logs — lumiboard');
    expect(pageTitle(environment('/home/me/experiments/logs/'))).toBe('logs — lumiboard');
    expect(pageTitle(environment('C:\\runs\\mnist'))).toBe('mnist — lumiboard');
    expect(pageTitle(environment('gs://bucket/exp1'))).toBe('exp1 — lumiboard');
    expect(pageTitle(environment('train:/p/one,eval:/p/two'))).toBe('one, two — lumiboard');
  });

  it('lets --window_title win, and is plain before the environment arrives', () => {
    expect(pageTitle(environment('/x/logs', 'My experiment'))).toBe('My experiment');
    expect(pageTitle(null)).toBe('lumiboard');
    expect(pageTitle(environment(''))).toBe('lumiboard');
  });

  it('keeps a name that is all there is', () => {
    expect(logdirName('/')).toBe('');
    expect(logdirName('runs')).toBe('runs');
  });
});
