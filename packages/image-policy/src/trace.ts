/** One line for the job log. `text` is the line as GitLab Runner prints it (prefix included, no colour). */
export interface TraceLine {
  readonly level: 'plain' | 'info' | 'warning' | 'error' | 'debug';
  readonly message: string;
  readonly text: string;
}

const PREFIX: Readonly<Record<TraceLine['level'], string>> = {
  plain: '',
  info: '',
  warning: 'WARNING: ',
  error: 'ERROR: ',
  debug: '',
};

export function traceLine(level: TraceLine['level'], message: string): TraceLine {
  return { level, message, text: `${PREFIX[level]}${message}` };
}
