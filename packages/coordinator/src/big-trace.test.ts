import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { type Coordinator, createCoordinator } from './index.js';

let coordinator: Coordinator | undefined;
let pool: Pool | undefined;
afterEach(async () => {
  await pool?.close();
  await coordinator?.close();
});

const MiB = 1024 * 1024;

it('stores a 50 MB trace byte-identical through 1 MiB PATCHes, lost answers, lost chunks and 416s', async () => {
  coordinator = await createCoordinator();
  const { id, token } = coordinator.createJob({ token: 'glcbt-big-trace-token' });
  coordinator.setJobStatus(id, 'running');
  // Printable bytes with newlines, like a job log; it never contains the job token.
  const trace = Buffer.from(randomBytes(50 * MiB).map((byte) => (byte % 64 === 0 ? 10 : 32 + (byte % 90))));
  pool = new Pool(coordinator.url, { connections: 1, pipelining: 1 });

  // Every 7th PATCH loses its answer; every 11th time the server forgets the last 100 KiB it stored.
  let sent = 0;
  let patches = 0;
  let lostAnswers = 0;
  let rewinds = 0;
  const statuses = new Map<number, number>();
  while (sent < trace.length) {
    patches += 1;
    if (patches % 7 === 0) coordinator.inject({ type: 'drop-trace-answer', jobId: id });
    if (patches % 11 === 0 && sent > 100 * 1024) {
      coordinator.inject({ type: 'lose-trace-tail', jobId: id, bytes: 100 * 1024 });
      rewinds += 1;
    }
    const chunk = trace.subarray(sent, sent + MiB);
    let status: number;
    let range: string | undefined;
    try {
      const answer = await pool.request({
        method: 'PATCH',
        path: `/api/v4/jobs/${id}/trace?debug_trace=false`,
        headers: {
          'JOB-TOKEN': token,
          'Content-Type': 'text/plain',
          'Content-Range': `${sent}-${sent + chunk.length - 1}`,
        },
        body: chunk,
      });
      await answer.body.dump();
      status = answer.statusCode;
      range = answer.headers.range as string | undefined;
    } catch {
      lostAnswers += 1;
      continue; // as the client: no answer → send the same range again
    }
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status === 202) sent += chunk.length;
    else if (status === 416) sent = Number(range?.split('-')[1] ?? 0);
    else throw new Error(`unexpected ${status}`);
  }
  expect(lostAnswers).toBeGreaterThan(5);
  expect(rewinds).toBeGreaterThan(3);
  expect(statuses.get(416)).toBeGreaterThan(5);
  const stored = coordinator.trace(id);
  expect(stored.length).toBe(trace.length);
  expect(stored.equals(trace)).toBe(true);
}, 60_000);
