/** What one request told us about a runner's health (spec §4.4). */
export interface HealthState {
  /** Unhealthy results in a row; a healthy result resets it. */
  consecutiveFailures: number;
  /** When the limit was reached: requests are skipped until `unhealthyUntil`. */
  unhealthyUntil: number | undefined;
}

export interface HealthOptions {
  /** unhealthy_requests_limit (default 3). */
  unhealthyRequestsLimit?: number;
  /** unhealthy_interval in ms (default 60 min). */
  unhealthyIntervalMs?: number;
  now?: () => number;
}

/**
 * Health accounting of one `[[runners]]` entry, as GitLab Runner's run loop does it: after
 * `unhealthyRequestsLimit` consecutive unhealthy results the runner is not polled for `unhealthyInterval`;
 * afterwards one request is allowed and the count starts over.
 */
export class HealthTracker {
  private state: HealthState = { consecutiveFailures: 0, unhealthyUntil: undefined };
  private readonly limit: number;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(options: HealthOptions = {}) {
    this.limit = options.unhealthyRequestsLimit ?? 3;
    this.intervalMs = options.unhealthyIntervalMs ?? 60 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Whether the caller should send a request now. */
  canRequest(): boolean {
    const until = this.state.unhealthyUntil;
    if (until === undefined) return true;
    if (this.now() < until) return false;
    // The interval has passed: force one request and start counting again.
    this.state = { consecutiveFailures: 0, unhealthyUntil: undefined };
    return true;
  }

  record(healthy: boolean): void {
    if (healthy) {
      this.state = { consecutiveFailures: 0, unhealthyUntil: undefined };
      return;
    }
    const failures = this.state.consecutiveFailures + 1;
    this.state = {
      consecutiveFailures: failures,
      unhealthyUntil: failures >= this.limit ? this.now() + this.intervalMs : this.state.unhealthyUntil,
    };
  }

  get healthy(): boolean {
    return this.state.unhealthyUntil === undefined || this.now() >= this.state.unhealthyUntil;
  }

  snapshot(): Readonly<HealthState> & { healthy: boolean } {
    return { ...this.state, healthy: this.healthy };
  }
}
