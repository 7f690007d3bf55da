import { afterEach, describe, expect, it } from 'vitest';
import { createJobApiClient, type JobApiClient } from './client.js';
import type { JobSession } from './job-session.js';
import {
  compareRequest,
  type FixtureExchange,
  FIXTURE_RUNNER,
  fixture,
  instantClock,
  type RecordedRequest,
  replyOf,
  startServer,
  type TestServer,
} from './testing/http-server.js';

interface TraceFixture {
  dynamicHeaders: string[];
  job: { id: number; token: string };
  fullTraceText: string;
  fullTraceBytes: number;
  fullTraceChecksum: string;
  sequences: { name: string; exchanges: FixtureExchange[] }[];
}

const trace = fixture<TraceFixture>('trace-patch-exchange.json');
const sequence = (prefix: string) => trace.sequences.find((s) => s.name.startsWith(prefix))!.exchanges;

let server: TestServer;
let client: JobApiClient;

afterEach(async () => {
  await client?.close();
  await server?.close();
});

async function setup(sessionDefaults = {}) {
  server = await startServer();
  client = createJobApiClient({
    url: server.url,
    runner: FIXTURE_RUNNER,
    clock: instantClock(),
    jobSession: { updateIntervalMs: 60_000, maxUpdateIntervalMs: 60_000, ...sessionDefaults },
  });
}

/** Replays the exchanges in order, recording which request met which exchange. */
function replay(exchanges: FixtureExchange[]) {
  const seen: [FixtureExchange, RecordedRequest][] = [];
  let index = 0;
  server.handle((request) => {
    const ex = exchanges[index++];
    if (!ex) return { status: 500, body: 'unexpected request' };
    seen.push([ex, request]);
    return replyOf(ex);
  });
  return {
    seen,
    check() {
      expect(seen.length).toBe(exchanges.length);
      for (const [ex, request] of seen) {
        const { expected, actual } = compareRequest(trace, ex, request);
        expect({ name: ex.name, ...actual }).toEqual({ name: ex.name, ...expected });
      }
    },
  };
}

function session(): JobSession {
  return client.createJobSession({ jobId: trace.job.id, jobToken: trace.job.token });
}

describe('incremental trace (PATCH /api/v4/jobs/:id/trace)', () => {
  it('sequence A: appends, a lost answer, 416 skips forward; final PUT carries the fixture checksum', async () => {
    await setup();
    const ex = sequence('A');
    const run = replay(ex);
    const job = session();
    job.write(ex[0]!.request.bodyText!);
    await job.flush();
    expect(job.sentOffset).toBe(210);
    job.write(ex[1]!.request.bodyText!);
    await job.flush(); // connection dropped: nothing known to be sent
    expect(job.sentOffset).toBe(210);
    await job.flush(); // same range again: 416 Range 0-390
    expect(job.sentOffset).toBe(390);
    job.write(ex[3]!.request.bodyText!);
    await job.flush();
    expect(job.sentOffset).toBe(501);
    run.check();
    expect(job.bytesize).toBe(trace.fullTraceBytes);
    expect(job.checksum).toBe(trace.fullTraceChecksum);

    const final = fixture('job-update-script-failure.json');
    const finalEx = final.exchanges[0]!;
    server.handle(() => replyOf(finalEx));
    server.requests.length = 0;
    const result = await job.finish({ state: 'failed', failureReason: 'script_failure', exitCode: 1 });
    expect(result).toMatchObject({ outcome: 'delivered', failureReason: 'script_failure', attempts: 1 });
    const { expected, actual } = compareRequest(final, finalEx, server.requests[0]!);
    expect(actual).toEqual(expected);
  });

  it('sequence B: the server is behind; 416 rewinds and the rest is sent again', async () => {
    await setup();
    const ex = sequence('B');
    const job = session();
    // The client believes 390 bytes are stored (A1 + a lost A2 that it thinks went through).
    const a = sequence('A');
    server.handle(() => ({ status: 202, headers: { Range: '0-210' } }));
    job.write(a[0]!.request.bodyText!);
    await job.flush();
    server.handle(() => ({ status: 202, headers: { Range: '0-390' } }));
    job.write(a[1]!.request.bodyText!);
    await job.flush();
    expect(job.sentOffset).toBe(390);
    const run = replay(ex);
    job.write(ex[0]!.request.bodyText!);
    await job.flush();
    expect(job.sentOffset).toBe(210);
    await job.flush();
    expect(job.sentOffset).toBe(501);
    run.check();
  });

  it('C1: 403 with Job-Status canceled aborts: signal, event, nothing more is sent', async () => {
    await setup();
    const [c1] = sequence('C');
    const job = session();
    const events: string[] = [];
    job.on('abort', (reason) => events.push(`abort ${reason}`));
    server.handle(() => ({ status: 202, headers: { Range: '0-210' } }));
    job.write(sequence('A')[0]!.request.bodyText!);
    await job.flush();
    const run = replay([c1!]);
    job.write(c1!.request.bodyText!);
    await job.flush();
    run.check();
    expect(job.signal.aborted).toBe(true);
    expect(job.cancelSignal.aborted).toBe(false);
    expect(events).toMatchInlineSnapshot(`
      [
        "abort [PATCH] /api/v4/jobs/1001/trace: 403 (Job-Status: canceled)",
      ]
    `);
    expect(job.sentOffset).toBe(210);
  });

  it('C2: Job-Status canceling accepts the bytes and requests a graceful cancel once', async () => {
    await setup();
    const [, c2] = sequence('C');
    const job = session();
    let cancels = 0;
    job.on('cancel-requested', () => cancels++);
    server.handle(() => ({ status: 202, headers: { Range: '0-210' } }));
    job.write(sequence('A')[0]!.request.bodyText!);
    await job.flush();
    replay([c2!, c2!]);
    job.write(c2!.request.bodyText!);
    await job.flush();
    expect(job.sentOffset).toBe(390);
    expect(job.cancelSignal.aborted).toBe(true);
    expect(job.signal.aborted).toBe(false);
    expect(job.updateIntervalMs).toBe(3000);
    job.write('x');
    await job.flush();
    expect(cancels).toBe(1);
  });

  it('splits large traces into 1 MiB PATCHes with exact Content-Range arithmetic', async () => {
    await setup();
    let stored = Buffer.alloc(0);
    server.handle((request) => {
      const start = Number.parseInt(request.headers['content-range']!.split('-')[0]!, 10);
      if (start !== stored.length) return { status: 416, headers: { Range: `0-${stored.length}` } };
      stored = Buffer.concat([stored, request.body]);
      return { status: 202, headers: { Range: `0-${stored.length}`, 'Job-Status': 'running' } };
    });
    const job = session();
    const data = Buffer.alloc(2.5 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    job.write(data);
    await job.flush();
    expect(server.requests.map((r) => [r.headers['content-range'], r.headers['content-length']])).toEqual([
      ['0-1048575', '1048576'],
      ['1048576-2097151', '1048576'],
      ['2097152-2621439', '524288'],
    ]);
    expect(stored.equals(data)).toBe(true);
    expect(server.requests[0]!.query).toEqual({ debug_trace: 'false' });
  });

  it('X-GitLab-Trace-Update-Interval sets U (capped); empty bodies are never sent', async () => {
    await setup({ maxUpdateIntervalMs: 15 * 60_000 });
    const job = session();
    await job.flush();
    expect(server.requests).toHaveLength(0);
    server.handle(() => ({ status: 202, headers: { Range: '0-1', 'X-GitLab-Trace-Update-Interval': '99999' } }));
    job.write('a');
    await job.flush();
    expect(job.updateIntervalMs).toBe(15 * 60_000);
  });

  it('an unparsable interval is ignored with a warning event', async () => {
    server = await startServer(() => ({
      status: 202,
      headers: { Range: '0-1', 'X-GitLab-Trace-Update-Interval': 'soon' },
    }));
    const warnings: string[] = [];
    client = createJobApiClient({
      url: server.url,
      runner: FIXTURE_RUNNER,
      onEvent: (event) => event.type === 'warning' && warnings.push(event.message),
    });
    const job = session();
    job.write('a');
    await job.flush();
    expect(job.updateIntervalMs).toBe(3000);
    expect(warnings).toEqual(['job 1001: ignoring unparsable X-GitLab-Trace-Update-Interval "soon"']);
  });

  it('missing Range on 416 restarts from 0', async () => {
    await setup();
    const job = session();
    server.handle(() => ({ status: 202, headers: { Range: '0-3' } }));
    job.write('abc');
    await job.flush();
    server.handle(() => ({ status: 416 }));
    job.write('def');
    await job.flush();
    expect(job.sentOffset).toBe(0);
  });

  it('the trace sink works as a Writable', async () => {
    await setup();
    const job = session();
    const writable = job.createWritable();
    await new Promise<void>((resolve, reject) =>
      writable.end('hello ✓', (error?: Error | null) => (error ? reject(error) : resolve())),
    );
    expect(job.bytesize).toBe(Buffer.byteLength('hello ✓'));
    await job.close();
    expect(() => job.write('more')).toThrow(expect.objectContaining({ code: 'JOB_API_TRACE_CLOSED' }));
  });
});

describe('trace buffer', () => {
  it('slices across block boundaries and keeps CRC-32 and size of everything written', async () => {
    const { TraceBuffer } = await import('./trace-buffer.js');
    const { crc32 } = await import('node:zlib');
    const buffer = new TraceBuffer();
    const data = Buffer.alloc(3 * 1024 * 1024 + 123);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 11)) & 0xff;
    // Written in odd pieces, then read back in odd ranges.
    for (let offset = 0; offset < data.length; offset += 700_001)
      buffer.append(data.subarray(offset, offset + 700_001));
    expect(buffer.length).toBe(data.length);
    expect(buffer.checksum).toBe(`crc32:${crc32(data).toString(16).padStart(8, '0')}`);
    for (const [start, max] of [
      [0, 10],
      [1024 * 1024 - 5, 10],
      [1024 * 1024, 1024 * 1024],
      [500_000, 2_500_000],
      [data.length - 3, 1024 * 1024],
      [data.length, 10],
    ] as const) {
      expect(buffer.slice(start, max).equals(data.subarray(start, Math.min(data.length, start + max)))).toBe(true);
    }
  });
});
