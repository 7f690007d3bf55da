// `runnerkit coordinator --listen 127.0.0.1:PORT [--data DIR] [--registration-token T]`: the fake GitLab.
import { startCoordinator } from '@runnerkit/coordinator';
import type { Command } from 'commander';
import { type ConfigCommandIo, processIo } from './config.js';

/** `HOST:PORT`, `:PORT` or `PORT`; the host defaults to 127.0.0.1. */
export function parseListen(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  const host = at > 0 ? value.slice(0, at).replace(/^\[|\]$/g, '') : '127.0.0.1';
  const port = Number(at >= 0 ? value.slice(at + 1) : value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--listen: invalid port in "${value}"`);
  return { host, port };
}

export function registerCoordinatorCommand(program: Command, io: ConfigCommandIo = processIo()): void {
  program
    .command('coordinator')
    .description('Start the embedded fake GitLab (runner API, admin API under /-/) until SIGTERM or SIGINT')
    .option('--listen <address>', 'HOST:PORT to listen on', '127.0.0.1:0')
    .option('--data <dir>', 'persist state, traces and artifacts in this directory')
    .option('--registration-token <token>', 'the instance registration token (generated when absent)')
    .action(async (options: { listen: string; data?: string; registrationToken?: string }) => {
      let listen: { host: string; port: number };
      try {
        listen = parseListen(options.listen);
      } catch (error) {
        io.stderr.write(`${(error as Error).message}\n`);
        io.setExitCode(2);
        return;
      }
      const coordinator = await startCoordinator({
        host: listen.host,
        port: listen.port,
        ...(options.data ? { dataDir: options.data } : {}),
        ...(options.registrationToken ? { registrationToken: options.registrationToken } : {}),
      });
      io.stdout.write(`listening on ${coordinator.url}\n`);
      io.stdout.write(`registration token: ${coordinator.registrationToken}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await coordinator.close();
    });
}
