import type { IncomingHttpHeaders } from 'node:http';

/** Names of the runner API endpoints, as fault injection and recording refer to them. */
export const ENDPOINTS = [
  'register',
  'verify',
  'unregister',
  'unregister-manager',
  'reset-token',
  'reset-token-by-id',
  'router-discovery',
  'job-request',
  'job-update',
  'trace',
  'artifacts-upload',
  'artifacts-download',
  'git',
] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

/**
 * Faults a test can inject (api-spec §11.6). Rules with `times` apply to that many matching calls, then
 * disappear; `jobId` narrows a rule to one job's calls.
 */
export type Fault =
  /** Answer the next `times` calls of `endpoint` with this status, headers and body (JSON `body` or raw `bodyText`). */
  | {
      type: 'respond';
      endpoint: Endpoint;
      times?: number;
      jobId?: number;
      status: number;
      headers?: Record<string, string>;
      body?: unknown;
      bodyText?: string;
    }
  /** Close the connection without answering, before doing anything. */
  | { type: 'drop'; endpoint: Endpoint; times?: number; jobId?: number }
  /** Accept a trace PATCH (store its bytes), then close the connection without answering. */
  | { type: 'drop-trace-answer'; times?: number; jobId?: number }
  /** Answer the final update (success/failed) with 202 and the back-off interval `times` times. */
  | { type: 'final-update-accepted'; times: number; jobId?: number }
  /** Pretend to have lost the last `bytes` bytes of a job's stored trace (now). */
  | { type: 'lose-trace-tail'; jobId: number; bytes: number }
  /** Maintenance back-off: every runner API call answers 429 with `Retry-After` until disabled. */
  | { type: 'maintenance'; enabled: boolean; retryAfterSeconds?: number }
  /** The `X-GitLab-Trace-Update-Interval` sent with PATCH answers. */
  | { type: 'trace-update-interval'; seconds: number }
  /** The trace size limit in bytes (GitLab's `ci_jobs_trace_size_limit`). */
  | { type: 'trace-size-limit'; bytes: number }
  /** The Workhorse long-polling duration for job requests (0 disables it). */
  | { type: 'long-polling'; seconds: number };

export interface RecordedRequest {
  readonly sequence: number;
  readonly time: string;
  readonly endpoint: Endpoint | 'admin' | 'unknown';
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  /** The body, cut at the recording limit; `bodyBytes` is the full length. */
  readonly body: Buffer;
  readonly bodyBytes: number;
  /** The status answered, or `null` when the connection was dropped. */
  status: number | null;
}

type CountedFault = Extract<Fault, { type: 'respond' | 'drop' | 'drop-trace-answer' | 'final-update-accepted' }>;

export class FaultTable {
  private rules: { fault: CountedFault; remaining: number }[] = [];

  add(fault: CountedFault): void {
    const times = fault.times ?? 1;
    if (times > 0) this.rules.push({ fault, remaining: times });
  }

  /** Takes (and counts) the first rule of `type` that matches the call. */
  take<T extends CountedFault['type']>(
    type: T,
    endpoint: Endpoint,
    jobId: number | undefined,
  ): Extract<CountedFault, { type: T }> | undefined {
    for (const rule of this.rules) {
      const fault = rule.fault;
      if (fault.type !== type) continue;
      if ('endpoint' in fault && fault.endpoint !== endpoint) continue;
      if (fault.jobId !== undefined && fault.jobId !== jobId) continue;
      rule.remaining -= 1;
      if (rule.remaining <= 0) this.rules = this.rules.filter((entry) => entry !== rule);
      return fault as Extract<CountedFault, { type: T }>;
    }
    return undefined;
  }

  clear(): void {
    this.rules = [];
  }

  get size(): number {
    return this.rules.length;
  }
}
