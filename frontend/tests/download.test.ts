import { describe, expect, it } from 'vitest';

import { csvField, fileName, longCsv, multiRunJson } from '../src/dashboards/scalars/download';

describe('all-runs downloads', () => {
  it('joins TensorBoard CSVs into one long table, values copied verbatim', () => {
    const csv = longCsv([
      { run: 'a', csv: 'Wall time,Step,Value\n1700000000.25,0,0.1\n1700000001.5,1,nan\n' },
      { run: 'b,"c"', csv: 'Wall time,Step,Value\r\n1700000002.0,5,inf\r\n' },
    ]);
    expect(csv).toBe(
      'run,step,wall_time,value\n' +
        'a,0,1700000000.25,0.1\n' +
        'a,1,1700000001.5,nan\n' +
        '"b,""c""",5,1700000002.0,inf\n',
    );
  });

  it("joins TensorBoard JSON into scalars_multirun's shape", () => {
    const json = multiRunJson([
      { run: 'a', json: '[[1.5,0,0.25]]' },
      { run: 'b"x', json: '[]\n' },
    ]);
    expect(JSON.parse(json)).toEqual({ a: [[1.5, 0, 0.25]], 'b"x': [] });
  });

  it('quotes CSV fields only when needed', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a\nb')).toBe('"a\nb"');
  });

  it('makes safe file names', () => {
    expect(fileName('loss/train', 'run 1', 'csv')).toBe('loss_train_run_1.csv');
  });
});
