// exec's terminal output: every job's trace line by line with a job-name prefix, and the summary table.
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z [0-9a-f]{2}[OE][+ ]?/;
const SECTION = /section_(?:start|end):\d+:[^\r\n]*\r\x1b\[0K/g;
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const COLORS = [36, 35, 33, 32, 34, 96, 95, 93, 92, 94];

export interface Writer {
  write(chunk: string): unknown;
}

/** Splits a job's trace into display lines: no timestamps, no section markers, optional colours. */
export class PrefixedPrinter {
  private readonly buffers = new Map<number, string>();
  private readonly width: number;
  private readonly names = new Map<number, string>();

  constructor(
    private readonly out: Writer,
    private readonly color: boolean,
    jobNames: readonly string[],
  ) {
    this.width = Math.min(24, Math.max(4, ...jobNames.map((name) => name.length)));
  }

  private prefix(jobId: number): string {
    const name = (this.names.get(jobId) ?? `job ${jobId}`).padEnd(this.width).slice(0, Math.max(this.width, 4));
    if (!this.color) return `${name} | `;
    const code = COLORS[jobId % COLORS.length];
    return `\x1b[${code}m${name}\x1b[0m | `;
  }

  name(jobId: number, name: string): void {
    this.names.set(jobId, name);
  }

  write(jobId: number, chunk: Uint8Array | string): void {
    const text =
      (this.buffers.get(jobId) ?? '') + (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const lines = text.split('\n');
    this.buffers.set(jobId, lines.pop() ?? '');
    for (const line of lines) this.line(jobId, line);
  }

  flush(jobId: number): void {
    const rest = this.buffers.get(jobId);
    this.buffers.delete(jobId);
    if (rest) this.line(jobId, rest);
  }

  private line(jobId: number, raw: string): void {
    let line = raw.replace(TIMESTAMP, '').replace(SECTION, '');
    // a carriage return redraws the line: keep what was drawn last
    if (line.includes('\r')) line = line.slice(line.lastIndexOf('\r', line.length - 2) + 1).replace(/\r$/, '');
    if (!this.color) line = line.replace(ANSI, '');
    if (line.replace(ANSI, '').trim() === '' && raw.includes('section_')) return;
    this.out.write(`${this.prefix(jobId)}${line}${this.color ? '\x1b[0m' : ''}\n`);
  }
}

export interface SummaryRow {
  job: string;
  stage: string;
  status: string;
  durationMs: number | undefined;
  note?: string | undefined;
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** `job  stage  status  duration` as aligned columns. */
export function summaryTable(rows: readonly SummaryRow[], color: boolean): string {
  const header = ['job', 'stage', 'status', 'duration'];
  const cells = rows.map((row) => [
    row.job,
    row.stage,
    row.status,
    duration(row.durationMs) + (row.note ? `  ${row.note}` : ''),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((cell) => cell[column]!.length)));
  const paint = (status: string, text: string) => {
    if (!color) return text;
    const code =
      status === 'success'
        ? 32
        : status === 'failed'
          ? 31
          : status.startsWith('failed')
            ? 33
            : status === 'manual'
              ? 90
              : 0;
    return code ? `\x1b[${code}m${text}\x1b[0m` : text;
  };
  const format = (row: string[]) =>
    row
      .map((cell, column) => {
        const padded = column === row.length - 1 ? cell : cell.padEnd(widths[column]!);
        return column === 2 ? paint(cell, padded) : padded;
      })
      .join('  ');
  return `${[format(header), ...cells.map(format)].join('\n')}\n`;
}
