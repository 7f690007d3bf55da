import type { IncomingMessage, ServerResponse } from 'node:http';
import { JOB_STATUSES, type JobStatus } from '@runnerkit/job-spec';
import { findArtifact, streamArtifact } from './artifacts.js';
import type { CoordinatorCore, NewRunnerOptions } from './core.js';
import { CoordinatorError } from './errors.js';
import { ENDPOINTS, type Fault } from './faults.js';
import { isObject, parseJson, sendEmpty, sendJson, sendMessage } from './http.js';
import { parseTagList } from './runner-api.js';
import { jobView, pipelineView, runnerView } from './views.js';

const FAULT_TYPES = [
  'respond',
  'drop',
  'drop-trace-answer',
  'final-update-accepted',
  'lose-trace-tail',
  'maintenance',
  'trace-update-interval',
  'trace-size-limit',
  'long-polling',
];

function isFault(value: unknown): value is Fault {
  if (!isObject(value) || typeof value.type !== 'string' || !FAULT_TYPES.includes(value.type)) return false;
  if ('endpoint' in value && !(ENDPOINTS as readonly string[]).includes(String(value.endpoint))) return false;
  if (value.type === 'respond' && typeof value.status !== 'number') return false;
  if (value.type === 'lose-trace-tail' && (typeof value.jobId !== 'number' || typeof value.bytes !== 'number')) {
    return false;
  }
  return true;
}

export function runnerOptionsFromBody(body: Record<string, unknown>): NewRunnerOptions {
  const options: NewRunnerOptions = {};
  if (typeof body.id === 'number') options.id = body.id;
  if (typeof body.token === 'string') options.token = body.token;
  if (typeof body.token_expires_at === 'string') options.tokenExpiresAt = body.token_expires_at;
  if (typeof body.description === 'string') options.description = body.description;
  if (body.tag_list !== undefined || body.tags !== undefined) options.tags = parseTagList(body.tag_list ?? body.tags);
  if (typeof body.run_untagged === 'boolean') options.runUntagged = body.run_untagged;
  if (typeof body.locked === 'boolean') options.locked = body.locked;
  if (typeof body.paused === 'boolean') options.paused = body.paused;
  if (body.access_level === 'ref_protected' || body.access_level === 'not_protected') {
    options.accessLevel = body.access_level;
  }
  if (typeof body.maximum_timeout === 'number') options.maximumTimeout = body.maximum_timeout;
  return options;
}

/** The admin API under `/-/` (tests and `runnerkit exec`); documented in the README. */
export async function handleAdmin(
  core: CoordinatorCore,
  _request: IncomingMessage,
  response: ServerResponse,
  method: string,
  path: string,
  query: URLSearchParams,
  body: Buffer,
): Promise<void> {
  const json = parseJson(body);
  const segments = path.split('/').filter(Boolean).slice(1); // drop '-'
  const [resource, idText, action, extra] = segments;
  const id = idText === undefined ? undefined : Number(idText);
  try {
    if (resource === 'health' && method === 'GET') return sendJson(response, 200, { status: 'ok' });

    if (resource === 'jobs') {
      if (id === undefined) {
        if (method === 'POST') {
          if (!isObject(json)) return sendJson(response, 400, { error: 'body must be a JSON object (a job payload)' });
          const envelope = isObject(json.payload);
          const payload = (envelope ? json.payload : json) as Record<string, unknown>;
          const job = core.addJob(payload, {
            ...(envelope && Array.isArray(json.tags) ? { tags: json.tags.map(String) } : {}),
            ...(envelope && typeof json.protected === 'boolean' ? { protectedRef: json.protected } : {}),
          });
          return sendJson(response, 201, { id: job.id });
        }
        if (method === 'GET') {
          const jobs = [...core.store.jobs.values()].map((job) => {
            const { trace: _trace, ...view } = jobView(job, Buffer.alloc(0));
            return view;
          });
          return sendJson(response, 200, jobs);
        }
      } else {
        const job = Number.isSafeInteger(id) ? core.store.jobs.get(id) : undefined;
        if (!job) return sendMessage(response, 404, '404 Job Not Found');
        if (method === 'GET' && action === undefined) {
          return sendJson(response, 200, jobView(job, core.store.trace(job.id).read()));
        }
        if (method === 'GET' && action === 'trace') {
          const trace = core.store.trace(job.id).read();
          response.writeHead(200, {
            'Content-Type': 'text/plain; charset=utf-8',
            'Content-Length': String(trace.length),
          });
          response.end(trace);
          return;
        }
        if (method === 'GET' && action === 'artifacts') {
          const artifact = findArtifact(job, extra ?? 'archive');
          if (!artifact) return sendMessage(response, 404, '404 Not Found');
          return streamArtifact(core, artifact, response);
        }
        if (method === 'POST' && action === 'cancel') {
          core.cancelJob(job.id, query.get('force') === 'true');
          return sendJson(response, 200, jobView(job, core.store.trace(job.id).read()));
        }
        if (method === 'POST' && action === 'play') {
          const played = core.pipelineDriver?.play?.(job.id) ?? { error: 'pipelines are not available', status: 404 };
          if ('error' in played) {
            return sendJson(response, played.status, { error: played.error, code: 'COORDINATOR_INVALID_REQUEST' });
          }
          return sendJson(response, 200, jobView(job, core.store.trace(job.id).read()));
        }
        if (method === 'PUT' && action === 'status') {
          const status = isObject(json) ? json.status : undefined;
          if (typeof status !== 'string' || !(JOB_STATUSES as readonly string[]).includes(status)) {
            return sendJson(response, 400, { error: 'status does not have a valid value' });
          }
          core.setStatus(job, status as JobStatus);
          return sendJson(response, 200, jobView(job, core.store.trace(job.id).read()));
        }
      }
    }

    if (resource === 'pipelines') {
      const driver = core.pipelineDriver;
      if (!driver) return sendMessage(response, 404, '404 Not Found');
      if (id === undefined && method === 'POST') {
        if (!isObject(json)) return sendJson(response, 400, { error: 'body must be a JSON object' });
        const result = await driver.create(json);
        if ('error' in result) return sendJson(response, 400, result);
        return sendJson(response, 201, result);
      }
      if (id !== undefined && method === 'GET') {
        const pipeline = core.store.pipelines.get(id);
        if (!pipeline) return sendMessage(response, 404, '404 Pipeline Not Found');
        const jobs = pipeline.jobIds.map((jobId) => core.store.jobs.get(jobId)).filter((job) => job !== undefined);
        return sendJson(response, 200, pipelineView(pipeline, jobs));
      }
    }

    if (resource === 'runners') {
      if (id === undefined && method === 'POST') {
        const runner = core.addRunner({ ...runnerOptionsFromBody(isObject(json) ? json : {}), tokenKind: 'created' });
        return sendJson(response, 201, { id: runner.id, token: runner.token, token_expires_at: runner.tokenExpiresAt });
      }
      if (id === undefined && method === 'GET') {
        return sendJson(response, 200, [...core.store.runners.values()].map(runnerView));
      }
      if (id !== undefined && method === 'PUT') {
        const options = runnerOptionsFromBody(isObject(json) ? json : {});
        const runner = core.updateRunner(id, {
          paused: options.paused,
          tags: options.tags,
          runUntagged: options.runUntagged,
          locked: options.locked,
          accessLevel: options.accessLevel,
          description: options.description,
        });
        return sendJson(response, 200, runnerView(runner));
      }
    }

    if (resource === 'faults') {
      if (method === 'POST') {
        const faults = Array.isArray(json) ? json : [json];
        if (!faults.every(isFault)) return sendJson(response, 400, { error: 'not a fault description (see README)' });
        for (const fault of faults) core.applyFault(fault);
        return sendEmpty(response, 204);
      }
      if (method === 'DELETE') {
        core.faults.clear();
        return sendEmpty(response, 204);
      }
    }

    if (resource === 'requests') {
      if (method === 'GET') {
        return sendJson(
          response,
          200,
          core.recorded.map((entry) => ({ ...entry, body: entry.body.toString('utf8') })),
        );
      }
      if (method === 'DELETE') {
        core.recorded.length = 0;
        return sendEmpty(response, 204);
      }
    }
    return sendMessage(response, 404, '404 Not Found');
  } catch (error) {
    if (CoordinatorError.isInstance(error)) {
      const status = error.code === 'COORDINATOR_NOT_FOUND' ? 404 : error.code === 'COORDINATOR_CONFLICT' ? 409 : 400;
      return sendJson(response, status, { error: error.message, code: error.code });
    }
    throw error;
  }
}
