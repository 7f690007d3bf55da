import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { JobApiError } from './errors.js';
import {
  MAX_TRACE_PATCH_BYTES,
  MAX_UPDATE_INTERVAL_MS,
  type JobUpdateBody,
  type PatchTraceResult,
  patchTrace,
  type UpdateJobResult,
  updateJob,
} from './job-updates.js';
import { redact } from './mask.js';
import type { RunnerInfo } from './runner-info.js';
import { TraceBuffer } from './trace-buffer.js';
import { type TraceSpoolOptions, type TraceStore, TraceSpool } from './trace-spool.js';
import { backoffDelay, type Transport } from './transport.js';
import { type FailureReason, mapFailureReason } from '@runnerkit/job-spec';

export interface JobSessionOptions {
  jobId: number;
  jobToken: string;
  /** Runner token the job was requested with (for `X-GitLab-Last-Update` bookkeeping and masking). */
  runnerToken?: string;
  /** `debug_trace=true` on trace PATCHes (CI_DEBUG_TRACE). */
  debugTrace?: boolean;
  /** The job payload's `features.failure_reasons`, used to map the final reason (spec §6.6). */
  supportedFailureReasons?: readonly string[];
  /** Initial update interval U (3 s). */
  updateIntervalMs?: number;
  /** Cap for server-given intervals (15 min). Tests lower it. */
  maxUpdateIntervalMs?: number;
  /** Force-send interval F (30 s). */
  forceSendIntervalMs?: number;
  /** FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL: F = clamp(4 × U, 30 s, 30 min). */
  dynamicForceSendInterval?: boolean;
  /** job_status_final_update_retry_limit (10). */
  finalUpdateRetryLimit?: number;
  /** Back-off between failed final-update attempts: starts at minMs (1 s), doubles, capped at maxMs (60 min). */
  finalUpdateBackoff?: { minMs?: number; maxMs?: number };
  /** Largest PATCH body (1 MiB). */
  maxPatchBytes?: number;
  /**
   * Keep the trace in a temporary file in this directory (as GitLab Runner does) instead of memory: only the
   * unwritten tail stays in memory. The file (0600) is removed when the session ends (`finish`, `dispose`).
   * If the file cannot be created or written, the rest of the trace stays in memory and the session emits
   * `trace-spool-fallback` and a warning. Absent: the whole trace is kept in memory.
   */
  traceSpool?: TraceSpoolOptions | undefined;
}

export type AcknowledgeResult = 'run' | 'drop' | 'cancel';

export type FinalJobState =
  | { state: 'success' }
  | {
      state: 'failed';
      /** The runner's reason (job_canceled, image_pull_failure, …); mapped to one GitLab accepts before sending. */
      failureReason?: FailureReason | '';
      exitCode?: number;
    };

export interface FinishResult {
  /** delivered: 200; aborted: the server refused further updates (403/404/canceled); gave-up: retry limit reached. */
  outcome: 'delivered' | 'aborted' | 'gave-up' | 'dropped';
  /** The failure_reason actually sent, after mapping. */
  failureReason: FailureReason | undefined;
  attempts: number;
  error: JobApiError | undefined;
}

export interface JobSessionEvents {
  'cancel-requested': [];
  abort: [reason: string];
  'trace-sent': [start: number, length: number];
  'trace-range-mismatch': [sentOffset: number, serverOffset: number];
  'update-interval': [intervalMs: number];
  /** The trace file failed (JOB_API_TRACE_SPOOL_FAILED); the rest of the trace is kept in memory. */
  'trace-spool-fallback': [error: JobApiError];
}

/**
 * One running job's side of the API: the trace sink (`write`/`flush`/`close`), the keep-alive update loop,
 * cancellation (`cancelSignal` for `Job-Status: canceling`, `signal` for abort) and the final update.
 * Lifecycle: `acknowledge()` → `start()` → writes … → `finish(result)`.
 */
export class JobSession extends EventEmitter<JobSessionEvents> {
  readonly jobId: number;
  private readonly jobToken: string;
  private readonly transport: Transport;
  private readonly info: RunnerInfo;
  private readonly options: JobSessionOptions;
  private readonly buffer: TraceStore;
  private scratch: Buffer | undefined;
  private readonly abortController = new AbortController();
  private readonly cancelController = new AbortController();
  private readonly stopController = new AbortController();
  private sent = 0;
  private intervalMs: number;
  private lastContact: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;
  private finished = false;
  private dropped = false;
  /**
   * The two-phase acknowledgement (spec §4.5). When `acknowledge()` got no 200 (no answer, 5xx, 409) the job runs
   * anyway, and until GitLab confirms `state=running` every keep-alive tick, and the final update before its own
   * `PUT`, send it again: a coordinator still waiting for it refuses any other state with 400.
   */
  private acknowledgement: 'not-sent' | 'unconfirmed' | 'confirmed' = 'not-sent';
  private lane: Promise<unknown> = Promise.resolve();
  private readonly emitEvent: Transport['emit'];

  constructor(transport: Transport, info: RunnerInfo, options: JobSessionOptions) {
    super();
    this.transport = transport;
    this.info = info;
    this.options = options;
    this.jobId = options.jobId;
    this.jobToken = options.jobToken;
    this.intervalMs = options.updateIntervalMs ?? 3000;
    this.lastContact = transport.clock.now();
    this.emitEvent = transport.emit.bind(transport);
    this.buffer = options.traceSpool
      ? new TraceSpool({
          ...options.traceSpool,
          label: String(options.jobId),
          onFallback: (error) => {
            this.emitEvent({ type: 'warning', message: `job ${this.jobId}: ${error.message}` });
            this.emit('trace-spool-fallback', error);
          },
        })
      : new TraceBuffer();
  }

  /** Aborted when the job must stop at once (403, `Job-Status: canceled|failed`): kill everything. */
  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  /** The same as `signal` (job-runtime's `abortSignal`). */
  get abortSignal(): AbortSignal {
    return this.abortController.signal;
  }

  /** Aborted when GitLab asks for a graceful cancel (`Job-Status: canceling`): stop the script, run after_script. */
  get cancelSignal(): AbortSignal {
    return this.cancelController.signal;
  }

  /** Whether GitLab answered a `PUT state=running` with 200 (the two-phase acknowledgement went through). */
  get isAcknowledged(): boolean {
    return this.acknowledgement === 'confirmed';
  }

  /** Bytes GitLab is known to have. */
  get sentOffset(): number {
    return this.sent;
  }

  get bytesize(): number {
    return this.buffer.length;
  }

  get checksum(): string {
    return this.buffer.checksum;
  }

  get updateIntervalMs(): number {
    return this.intervalMs;
  }

  /** Appends trace bytes (already masked and limited by the writer). */
  write(chunk: string | Uint8Array): void {
    if (this.closed) throw new JobApiError('JOB_API_TRACE_CLOSED', `job ${this.jobId}: trace is closed`);
    this.buffer.append(chunk);
  }

  /** Sends what is pending now (one pass; failures are left for the next tick). */
  async flush(): Promise<void> {
    if (this.dropped) return;
    await this.serial(() => this.sendPending());
  }

  /** No more writes; pending bytes are sent by `finish`. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** A Writable that feeds `write` (for piping a stream into the trace). */
  createWritable(): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        try {
          this.write(chunk);
          callback();
        } catch (error) {
          callback(error as Error);
        }
      },
    });
  }

  /** The two-phase acknowledgement (spec §4.5): `PUT state=running` before anything runs. */
  async acknowledge(signal?: AbortSignal): Promise<AcknowledgeResult> {
    this.acknowledgement = 'unconfirmed';
    const result = await this.put({ state: 'running' }, signal);
    if (result.outcome === 'abort') {
      this.dropped = true;
      this.stop();
      return 'drop';
    }
    if (result.cancelRequested) {
      this.requestCancel();
      return 'cancel';
    }
    if (!this.isAcknowledged) {
      this.emitEvent({
        type: 'warning',
        message: `job ${this.jobId}: the acknowledgement was not confirmed (${result.error?.message ?? `status ${result.status}`}); running the job, state=running is sent again with the next updates`,
      });
    }
    return 'run';
  }

  /** Starts the keep-alive loop (every U: send trace; every F without contact: `PUT state=running`). */
  start(): void {
    if (this.running || this.finished || this.dropped) return;
    this.running = true;
    this.lastContact = this.transport.clock.now();
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.serial(() => this.tick())
        .catch((error: unknown) => {
          // A throwing listener or an unexpected failure must not end the loop or the process.
          this.emitEvent({
            type: 'warning',
            message: redact(
              `job ${this.jobId}: update loop: ${error instanceof Error ? error.message : String(error)}`,
              [this.jobToken, this.options.runnerToken],
            ),
          });
        })
        .finally(() => this.schedule());
    }, this.intervalMs);
  }

  private stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.lane.then(task, task);
    this.lane = next.catch(() => undefined);
    return next;
  }

  private forceSendIntervalMs(): number {
    if (this.options.dynamicForceSendInterval) {
      return Math.min(30 * 60_000, Math.max(30_000, 4 * this.intervalMs));
    }
    return this.options.forceSendIntervalMs ?? 30_000;
  }

  private async tick(): Promise<void> {
    if (!this.running || this.abortController.signal.aborted) return;
    const state = await this.sendPending();
    if (state === 'abort' || !this.running) return;
    if (state === 'failed') return;
    // Unconfirmed acknowledgement: re-send it on every tick until GitLab takes it.
    if (
      this.acknowledgement === 'unconfirmed' ||
      this.transport.clock.now() - this.lastContact >= this.forceSendIntervalMs()
    ) {
      await this.put({ state: 'running' }, this.stopController.signal).catch((error: unknown) => {
        // Only our own stop is expected here; anything else is reported by the loop.
        if (!(JobApiError.isInstance(error) && error.code === 'JOB_API_ABORTED')) throw error;
      });
    }
  }

  private applySignals(result: PatchTraceResult | UpdateJobResult, final: boolean): void {
    if (result.updateIntervalMs !== undefined && result.updateIntervalMs !== this.intervalMs) {
      const cap = this.options.maxUpdateIntervalMs ?? MAX_UPDATE_INTERVAL_MS;
      this.intervalMs = Math.min(result.updateIntervalMs, cap);
      this.emit('update-interval', this.intervalMs);
      this.emitEvent({ type: 'update-interval-changed', jobId: this.jobId, intervalMs: this.intervalMs });
    }
    if (result.invalidInterval !== undefined) {
      this.emitEvent({
        type: 'warning',
        message: `job ${this.jobId}: ignoring unparsable X-GitLab-Trace-Update-Interval "${result.invalidInterval}"`,
      });
    }
    if (result.cancelRequested) this.requestCancel();
    if (result.outcome === 'abort' && !final) this.abort(result.error?.message ?? `Job-Status: ${result.jobStatus}`);
  }

  private requestCancel(): void {
    if (this.cancelController.signal.aborted) return;
    this.cancelController.abort(new JobApiError('JOB_API_JOB_ABORTED', `job ${this.jobId}: cancel requested`));
    this.emit('cancel-requested');
    this.emitEvent({ type: 'job-cancel-requested', jobId: this.jobId });
  }

  private abort(reason: string): void {
    if (this.abortController.signal.aborted) return;
    this.stop();
    this.abortController.abort(new JobApiError('JOB_API_JOB_ABORTED', `job ${this.jobId}: ${reason}`));
    this.emit('abort', reason);
    this.emitEvent({ type: 'job-aborted', jobId: this.jobId, reason });
  }

  /** One PATCH of the next chunk; updates `sent` as spec §7.4 says. */
  private async patchOnce(final: boolean): Promise<PatchTraceResult> {
    const start = this.sent;
    const max = this.options.maxPatchBytes ?? MAX_TRACE_PATCH_BYTES;
    // PATCHes run one at a time (the lane) and their bodies are not used once patchTrace returns: a spooled trace
    // reads every chunk that is not a view of memory into one reused buffer.
    if (this.buffer instanceof TraceSpool) this.scratch ??= Buffer.allocUnsafe(max);
    const bytes = await this.buffer.slice(start, max, this.scratch);
    const result = await patchTrace(this.transport, this.jobId, this.jobToken, start, bytes, {
      debugTrace: this.options.debugTrace ?? false,
      signal: this.stopController.signal,
      runnerToken: this.options.runnerToken,
      maxIntervalMs: this.options.maxUpdateIntervalMs ?? MAX_UPDATE_INTERVAL_MS,
    });
    if (result.outcome === 'ok') {
      this.sent = result.newOffset ?? start;
      this.lastContact = this.transport.clock.now();
      this.emit('trace-sent', start, bytes.length);
      this.emitEvent({ type: 'trace-sent', jobId: this.jobId, start, length: bytes.length });
    } else if (result.outcome === 'range-mismatch') {
      const serverOffset = result.newOffset ?? 0;
      // The server may be ahead (lost answer: skip forward) or behind (lost chunk: rewind and re-send).
      this.sent = Math.min(serverOffset, this.buffer.length);
      this.lastContact = this.transport.clock.now();
      this.emit('trace-range-mismatch', start, serverOffset);
      this.emitEvent({ type: 'trace-range-mismatch', jobId: this.jobId, sentOffset: start, serverOffset });
    }
    this.applySignals(result, final);
    return result;
  }

  /** While running: send everything pending, chunk by chunk; stop at the first non-202. */
  private async sendPending(): Promise<'ok' | 'range' | 'abort' | 'failed' | 'not-found'> {
    while (this.sent < this.buffer.length) {
      if (this.abortController.signal.aborted) return 'abort';
      const result = await this.patchOnce(false).catch((error: unknown) => {
        if (JobApiError.isInstance(error) && error.code === 'JOB_API_ABORTED') return undefined;
        throw error;
      });
      if (!result) return 'failed';
      if (result.outcome === 'ok') continue;
      if (result.outcome === 'range-mismatch') return 'range';
      if (result.outcome === 'abort') return 'abort';
      if (result.outcome === 'not-found') return 'not-found';
      return 'failed';
    }
    return 'ok';
  }

  private body(state: JobUpdateBody['state'], failureReason?: string, exitCode?: number): JobUpdateBody {
    const body: JobUpdateBody = { info: this.info, token: this.jobToken, state, output: {} };
    if (failureReason) body.failure_reason = failureReason;
    if (exitCode !== undefined && exitCode !== 0) body.exit_code = exitCode;
    if (this.buffer.length > 0) {
      const checksum = this.buffer.checksum;
      body.checksum = checksum;
      body.output = { checksum, bytesize: this.buffer.length };
    }
    return body;
  }

  private async put(
    result: { state: JobUpdateBody['state']; failureReason?: string; exitCode?: number },
    signal?: AbortSignal,
    final = false,
  ): Promise<UpdateJobResult> {
    const body = this.body(result.state, result.failureReason, result.exitCode);
    const answer = await updateJob(this.transport, this.jobId, body, {
      signal,
      runnerToken: this.options.runnerToken,
      maxIntervalMs: this.options.maxUpdateIntervalMs ?? MAX_UPDATE_INTERVAL_MS,
    });
    if (answer.outcome === 'ok' || answer.outcome === 'accepted') this.lastContact = this.transport.clock.now();
    if (result.state === 'running' && answer.status === 200) this.acknowledgement = 'confirmed';
    this.applySignals(answer, final);
    return answer;
  }

  /**
   * Final flush (spec §6.5 step 2): 'done' when all sent, 'stop' on 404 (go on to the PUT), 'abort' on 403 or
   * `Job-Status: canceled|failed` (the routine stops at the first 403, §9.3: the PUT would be refused too),
   * 'failed' otherwise.
   */
  private async finalFlush(signal: AbortSignal | undefined): Promise<'done' | 'stop' | 'abort' | 'failed'> {
    while (this.sent < this.buffer.length) {
      const result = await this.patchOnce(true);
      if (result.outcome === 'ok') continue;
      if (result.outcome === 'range-mismatch') {
        await this.transport.clock.sleep(this.intervalMs, signal);
        continue;
      }
      if (result.outcome === 'abort') return 'abort';
      if (result.outcome === 'not-found') return 'stop';
      await this.transport.clock.sleep(this.intervalMs, signal);
      return 'failed';
    }
    return 'done';
  }

  /**
   * Reports the job's end (spec §6.5): stops the loop, flushes the whole trace, then `PUT` the final state until
   * GitLab takes it (202 → wait and repeat; 412 → re-send the whole trace), with up to `finalUpdateRetryLimit`
   * failed attempts. Never throws for server answers; rejects only when `signal` aborts.
   */
  async finish(result: FinalJobState, signal?: AbortSignal): Promise<FinishResult> {
    this.closed = true;
    this.stop();
    const failureReason =
      result.state === 'failed'
        ? mapFailureReason(result.failureReason, this.options.supportedFailureReasons)
        : undefined;
    if (this.dropped || this.finished) {
      if (!this.finished) await this.serial(() => this.releaseTrace());
      return { outcome: 'dropped', failureReason, attempts: 0, error: undefined };
    }
    this.finished = true;
    return this.serial(async () => {
      try {
        return await this.reportFinal(result, failureReason, signal);
      } catch (error) {
        // The trace file cannot give back bytes GitLab still needs: the trace cannot be completed.
        if (JobApiError.isInstance(error) && error.code === 'JOB_API_TRACE_SPOOL_FAILED') {
          return { outcome: 'gave-up', failureReason, attempts: 0, error } satisfies FinishResult;
        }
        throw error;
      } finally {
        await this.releaseTrace();
      }
    });
  }

  private async reportFinal(
    result: FinalJobState,
    failureReason: FailureReason | undefined,
    signal: AbortSignal | undefined,
  ): Promise<FinishResult> {
    this.intervalMs = this.options.updateIntervalMs ?? 3000;
    const limit = this.options.finalUpdateRetryLimit ?? 10;
    const backoff = this.options.finalUpdateBackoff ?? {};
    let failures = 0;
    let attempts = 0;
    let lastError: JobApiError | undefined;
    for (;;) {
      attempts++;
      const flushed = await this.finalFlush(signal);
      if (flushed === 'abort') {
        return {
          outcome: 'aborted',
          failureReason,
          attempts,
          error: new JobApiError('JOB_API_JOB_ABORTED', `job ${this.jobId}: the server refused the trace (403)`),
        };
      }
      let failed = flushed === 'failed';
      if (!failed && this.acknowledgement === 'unconfirmed') {
        // The acknowledgement never went through: GitLab still waits for it and would answer the final state
        // with 400. Send it now (what a keep-alive would have done), then the final update.
        const running = await this.put({ state: 'running' }, signal, true);
        if (running.outcome === 'abort') {
          return { outcome: 'aborted', failureReason, attempts, error: running.error };
        }
        if (!this.isAcknowledged) {
          lastError = running.error;
          await this.transport.clock.sleep(this.intervalMs, signal);
          failed = true;
        }
      }
      if (!failed) {
        const answer = await this.put(
          { state: result.state, ...(failureReason ? { failureReason } : {}), exitCode: exitCodeOf(result) },
          signal,
          true,
        );
        this.emitEvent({
          type: 'final-update-attempt',
          jobId: this.jobId,
          attempt: attempts,
          outcome: answer.outcome,
        });
        // A 200 whose Job-Status is failed/canceled is the normal answer to a final update: delivered.
        if (answer.outcome === 'ok' || answer.status === 200) {
          return { outcome: 'delivered', failureReason, attempts, error: undefined };
        }
        if (answer.outcome === 'abort') return { outcome: 'aborted', failureReason, attempts, error: answer.error };
        if (answer.outcome === 'accepted') {
          await this.transport.clock.sleep(this.intervalMs, signal);
          continue;
        }
        if (answer.outcome === 'trace-validation-failed') {
          this.sent = 0;
          await this.transport.clock.sleep(this.intervalMs, signal);
          continue;
        }
        lastError = answer.error;
        await this.transport.clock.sleep(this.intervalMs, signal);
        failed = true;
      }
      failures++;
      if (failures >= limit) {
        return {
          outcome: 'gave-up',
          failureReason,
          attempts,
          error: new JobApiError(
            'JOB_API_FINAL_UPDATE_FAILED',
            `job ${this.jobId}: final update not accepted after ${failures} failed attempts`,
            { cause: lastError },
          ),
        };
      }
      await this.transport.clock.sleep(
        backoffDelay(failures, backoff.minMs ?? 1000, backoff.maxMs ?? 60 * 60_000, () => 1),
        signal,
      );
    }
  }

  /** Frees the trace (memory, temporary file); a file that cannot be removed is reported as a warning. */
  private async releaseTrace(): Promise<void> {
    this.scratch = undefined;
    await this.buffer.close().catch((error: unknown) => {
      this.emitEvent({
        type: 'warning',
        message: `job ${this.jobId}: ${error instanceof Error ? error.message : String(error)}`,
      });
    });
  }

  /**
   * Stops the loop without reporting (runner shutting down hard, or the caller gave up) and frees the trace,
   * removing its temporary file; resolves once it is gone. Safe to call after `finish` and more than once.
   */
  dispose(): Promise<void> {
    this.stop();
    this.stopController.abort();
    return this.serial(() => this.releaseTrace());
  }
}

function exitCodeOf(result: FinalJobState): number | undefined {
  return result.state === 'failed' ? result.exitCode : undefined;
}
