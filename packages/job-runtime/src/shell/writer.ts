// The bash/sh script writer: a body of lines, wrapped in GitLab Runner's envelope (job-execution §5.3–5.5).
import type { ShellName } from '../executor/contract.js';
import { quote, type QuoteStyle } from './quote.js';

export interface ScriptStyle {
  shell: ShellName;
  /** `FF_POSIXLY_CORRECT_ESCAPES`. */
  posixEscapes?: boolean | undefined;
  /** `CI_DEBUG_TRACE`: `set -o xtrace`. */
  debugTrace?: boolean | undefined;
  /** `FF_USE_LEGACY_BASH_EVAL`. */
  legacyEval?: boolean | undefined;
  /** `FF_ENABLE_BASH_EXIT_CODE_CHECK`. */
  exitCodeCheck?: boolean | undefined;
  /** `FF_SCRIPT_SECTIONS` and payload `features.trace_sections`: multi-line commands as collapsible sections. */
  scriptSections?: boolean | undefined;
}

export const ANSI = {
  boldGreen: '\x1b[32;1m',
  boldCyan: '\x1b[36;1m',
  yellow: '\x1b[0;33m',
  boldYellow: '\x1b[33;1m',
  boldRed: '\x1b[31;1m',
  reset: '\x1b[0;m',
  eraseLine: '\x1b[0K',
} as const;

const NOW = `$(awk 'BEGIN{srand(); print srand()}')`;

export class ScriptWriter {
  readonly style: ScriptStyle;
  readonly quoteStyle: QuoteStyle;
  readonly #lines: string[] = [];
  #indent = 0;

  constructor(style: ScriptStyle) {
    this.style = style;
    this.quoteStyle = style.posixEscapes ? 'posix' : 'ansi-c';
  }

  q(word: string): string {
    return quote(word, this.quoteStyle);
  }

  line(text: string): this {
    this.#lines.push('  '.repeat(this.#indent) + text);
    return this;
  }

  /** A line that runs user code: followed by the exit-code check when that flag is on. */
  commandLine(text: string): this {
    this.line(text);
    if (this.style.exitCodeCheck)
      this.line('_runner_exit_code=$?; if [ $_runner_exit_code -ne 0 ]; then exit $_runner_exit_code; fi');
    return this;
  }

  echo(text: string): this {
    return this.line(`echo ${this.q(text)}`);
  }
  notice(text: string): this {
    return this.echo(ANSI.boldGreen + text + ANSI.reset);
  }
  warning(text: string): this {
    return this.echo(ANSI.yellow + text + ANSI.reset);
  }
  error(text: string): this {
    return this.echo(ANSI.boldRed + text + ANSI.reset);
  }

  ifThen(condition: string, then: (w: this) => void, otherwise?: (w: this) => void): this {
    this.line(`if ${condition}; then`);
    this.#indent++;
    then(this);
    this.#indent--;
    if (otherwise) {
      this.line('else');
      this.#indent++;
      otherwise(this);
      this.#indent--;
    }
    return this.line('fi');
  }

  /** A user command with its `$ command` echo line (job-execution §5.4). */
  userCommand(command: string, sectionId: string): this {
    const trimmed = command.trim();
    if (trimmed === '') return this.line('echo').line('');
    const newline = trimmed.indexOf('\n');
    if (newline < 0) return this.notice(`$ ${trimmed}`).commandLine(trimmed);
    if (this.style.scriptSections) {
      const title = this.q(`${ANSI.boldGreen}$ ${trimmed}${ANSI.reset}`);
      this.line(
        `printf '%b\\n' section_start:${NOW}:section_${sectionId}[hide_duration=true,collapsed=true]\r${ANSI.eraseLine}${title}`,
      );
      this.commandLine(trimmed);
      return this.line(`printf '%b\\n' section_end:${NOW}:section_${sectionId}\r${ANSI.eraseLine}`);
    }
    return this.notice(`$ ${trimmed.slice(0, newline)} # collapsed multi-line command`).commandLine(trimmed);
  }

  userCommands(commands: readonly string[], sectionPrefix: string): this {
    commands.forEach((command, index) => {
      this.userCommand(command, `${sectionPrefix}_${index}`);
    });
    return this;
  }

  body(): string {
    return this.#lines.map((line) => `${line}\n`).join('');
  }

  /** The complete script: envelope around the body, for the writer's shell. */
  finish(): string {
    const body = this.q(this.body());
    const lines = [`#!/usr/bin/env ${this.style.shell}`, '', "trap 'exit 1' TERM", ''];
    if (this.style.debugTrace) lines.push('set -o xtrace');
    lines.push('case "$(set -o)" in *"pipefail"*) set -o pipefail;; esac; set -o errexit');
    lines.push('set +o noclobber');
    lines.push(this.style.legacyEval ? `: | eval ${body}` : `(trap 'exit 1' TERM; eval ${body}) < /dev/null`);
    lines.push('exit 0');
    return `${lines.join('\n')}\n`;
  }
}

const SHELL_CANDIDATES = [
  '/usr/local/bin/bash',
  '/usr/bin/bash',
  '/bin/bash',
  '/usr/local/bin/sh',
  '/usr/bin/sh',
  '/bin/sh',
  '/busybox/sh',
];

/**
 * The command that finds a shell in an image (`sh -c <this>`): execs the first of bash or sh that exists,
 * else prints `shell not found` and exits 1. The stage script then goes to its stdin. Same for bash and sh.
 * `login` adds `-l` (SSH-style login shells).
 */
export function shellDetectionScript(login = false): string {
  const args = login ? '-l' : '';
  let script = '';
  for (const [index, path] of SHELL_CANDIDATES.entries()) {
    script += `${index === 0 ? 'if' : 'elif'} [ -x ${path} ]; then\n\texec ${path} ${args}\n`;
  }
  return `${script}else\n\techo shell not found\n\texit 1\nfi\n\n`;
}
