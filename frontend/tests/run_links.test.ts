import { describe, expect, it } from 'vitest';

import { mlflowLink } from '../src/shell/runLinks';

describe('mlflowLink', () => {
  const links = {
    'guide/baseline': { mlflow: 'http://127.0.0.1:5000/#/experiments/1/runs/abc' },
    odd: { mlflow: 'javascript:alert(1)' },
    broken: { mlflow: 'not a url' },
  };

  it('links a run read from MLflow to its page', () => {
    expect(mlflowLink(links, 'guide/baseline')).toBe('http://127.0.0.1:5000/#/experiments/1/runs/abc');
  });

  it('links nothing else: runs without a page, other schemes, no status yet', () => {
    expect(mlflowLink(links, 'local_run')).toBeNull();
    expect(mlflowLink(links, 'odd')).toBeNull();
    expect(mlflowLink(links, 'broken')).toBeNull();
    expect(mlflowLink(undefined, 'guide/baseline')).toBeNull();
  });
});
