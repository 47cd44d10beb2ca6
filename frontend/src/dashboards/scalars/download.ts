/**
 * Downloads, never sampled: one run comes straight from TensorBoard's route
 * (`data/plugin/scalars/scalars?run&tag&format=csv|json`); "all runs" is assembled here from the
 * same per-run responses (every point), as one long CSV (`run,step,wall_time,value`) or one JSON
 * object in the shape of TensorBoard's `scalars_multirun` (`{run: [[wall_time, step, value], ...]}`).
 * Values are copied as the server wrote them, digit for digit (NaN and Infinity included).
 */
import type { Client, ScalarFormat } from '../../core/api';
import { saveBlob } from '../../core/download';

export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** TensorBoard CSVs (`Wall time,Step,Value`) of several runs as one long table. */
export function longCsv(parts: readonly { run: string; csv: string }[]): string {
  const lines = ['run,step,wall_time,value'];
  for (const { run, csv } of parts) {
    const name = csvField(run);
    const rows = csv.split(/\r?\n/);
    for (let i = 1; i < rows.length; i++) {
      const row = rows[i]!;
      if (!row) continue;
      const [wall, step, value] = row.split(',');
      lines.push(`${name},${step},${wall},${value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** TensorBoard JSON responses (`[[wall_time, step, value], ...]`) of several runs as one object. */
export function multiRunJson(parts: readonly { run: string; json: string }[]): string {
  return `{${parts.map(({ run, json }) => `${JSON.stringify(run)}:${json.trim()}`).join(',')}}`;
}

export function fileName(tag: string, what: string, format: ScalarFormat): string {
  const safe = `${tag}_${what}`.replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '');
  return `${safe || 'scalars'}.${format}`;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function allRunsText(client: Client, tag: string, runs: readonly string[], format: ScalarFormat): Promise<string> {
  const parts = await mapLimited(runs, 6, async (run) => ({
    run,
    text: await client.text(client.scalarsUrl(run, tag, format)),
  }));
  return format === 'csv'
    ? longCsv(parts.map(({ run, text }) => ({ run, csv: text })))
    : multiRunJson(parts.map(({ run, text }) => ({ run, json: text })));
}

/** Hand `text` to the browser as a file download. */
export function saveText(name: string, text: string, format: ScalarFormat): void {
  saveBlob(new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/json' }), name);
}
