import { describeWithComponent } from '@runnerkit/testkit';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { DockerClient } from '../client.js';
import { DockerError } from '../errors.js';
import { BUSYBOX, sessionLabels, sweep, transports } from '../testing/daemon.js';

async function failure(promise: Promise<unknown>): Promise<DockerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!DockerError.isInstance(error)) throw new Error(`expected a DockerError, got ${String(error)}`);
  return error;
}

describeWithComponent('docker', 'exec endpoints against dockerd', () => {
  describe.each(transports())('over $name', ({ options }) => {
    const client = new DockerClient(options);
    const session = sessionLabels();
    afterEach(() => sweep(client, session.filter));
    afterAll(() => client.close());

    const running = async () => {
      const { Id } = await client.containers.create({ Image: BUSYBOX, Cmd: ['sleep', '300'], Labels: session.labels });
      await client.containers.start(Id);
      return Id;
    };

    test('exec with stdin runs a script; inspect reports the exit code', async () => {
      const id = await running();
      const exec = await client.exec.create(id, {
        Cmd: ['sh'],
        AttachStdin: true,
        Env: ['GREETING=hello'],
        WorkingDir: '/etc',
      });
      const attached = await client.exec.start(exec.Id);
      attached.stdin.write('echo "$GREETING from $(pwd)"; echo warn >&2; exit 5\n');
      await attached.closeStdin();
      const output = await attached.collect();
      expect([output.stdout.toString(), output.stderr.toString()]).toEqual(['hello from /etc\n', 'warn\n']);
      const inspected = await client.exec.inspect(exec.Id);
      expect({ running: inspected.Running, exitCode: inspected.ExitCode, container: inspected.ContainerID }).toEqual({
        running: false,
        exitCode: 5,
        container: id,
      });
    });

    test('exec with a TTY gives raw output', async () => {
      const id = await running();
      const exec = await client.exec.create(id, { Cmd: ['sh', '-c', 'printf "%s" "$(tty)"'], Tty: true });
      const attached = await client.exec.start(exec.Id, { tty: true });
      expect((await attached.collect()).stdout.toString()).toBe('/dev/pts/0');
    });

    test('exec errors: stopped container → conflict, unknown exec → not found', async () => {
      const { Id } = await client.containers.create({ Image: BUSYBOX, Cmd: ['true'], Labels: session.labels });
      const stopped = await failure(client.exec.create(Id, { Cmd: ['true'] }));
      expect(stopped.code).toBe('DOCKER_CONFLICT');
      expect(stopped.daemonMessage).toContain('is not running');
      expect((await failure(client.exec.inspect('0123456789abcdef'))).code).toBe('DOCKER_NOT_FOUND');
    });
  });
});
