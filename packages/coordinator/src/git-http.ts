import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname } from 'node:path';
import { isFinishedJobStatus } from '@runnerkit/job-spec';
import type { CoordinatorCore } from './core.js';
import { header, sendText } from './http.js';

/** The project path GitLab would give a served directory: `local/<directory name>`. */
export function projectPathFor(directory: string): string {
  return `local/${basename(directory)}`;
}

function unauthorized(response: ServerResponse) {
  sendText(response, 401, 'HTTP Basic: Access denied\n', { 'WWW-Authenticate': 'Basic realm="GitLab"' });
}

/**
 * Serves `/<namespace>/<project>.git/...` with `git http-backend` as CGI. Basic auth `gitlab-ci-token:<job token>`
 * of an unfinished job of that project, as GitLab requires for CI clones.
 */
export function serveGit(
  core: CoordinatorCore,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  search: string,
) {
  const match = /^\/(.+?)\.git(\/.*)?$/.exec(path);
  const projectPath = match?.[1];
  const known =
    projectPath !== undefined &&
    (core.projects.has(projectPath) ||
      [...core.pipelineRepositories.values()].some((repository) => repository.projectPath === projectPath));
  if (!match || !known) {
    request.resume();
    return sendText(response, 404, 'Not Found\n');
  }
  const authorization = header(request, 'authorization') ?? '';
  const decoded = authorization.startsWith('Basic ')
    ? Buffer.from(authorization.slice(6), 'base64').toString('utf8')
    : '';
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const job = colon > 0 && user === 'gitlab-ci-token' ? core.store.findJobByToken(password) : undefined;
  if (!job || isFinishedJobStatus(job.status) || job.projectPath !== projectPath) {
    request.resume();
    return unauthorized(response);
  }
  // A pipeline's jobs fetch from its own mirror (which holds refs/pipelines/<id>); others from the served checkout.
  const mirror = job.pipelineId === null ? undefined : core.pipelineRepositories.get(job.pipelineId);
  const directory = mirror?.projectPath === projectPath ? mirror.directory : core.projects.get(projectPath);
  if (directory === undefined) {
    request.resume();
    return sendText(response, 404, 'Not Found\n');
  }
  // The repository's parent is the CGI's project root; `git http-backend` finds `<name>/.git` (a checkout) or
  // `<name>.git` (a bare mirror) itself.
  const env: Record<string, string> = {
    PATH: core.options.gitPath,
    GIT_PROJECT_ROOT: dirname(directory),
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'safe.directory',
    GIT_CONFIG_VALUE_0: '*',
    REQUEST_METHOD: request.method ?? 'GET',
    PATH_INFO: `/${basename(directory)}${match[2] ?? ''}`,
    QUERY_STRING: search.startsWith('?') ? search.slice(1) : search,
    CONTENT_TYPE: header(request, 'content-type') ?? '',
    REMOTE_USER: user,
    REMOTE_ADDR: request.socket.remoteAddress ?? '',
  };
  const length = header(request, 'content-length');
  if (length) env.CONTENT_LENGTH = length;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    env[`HTTP_${name.toUpperCase().replace(/-/g, '_')}`] = Array.isArray(value) ? value.join(', ') : value;
  }
  const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  request.pipe(cgi.stdin);
  cgi.stdin.on('error', () => {});
  let head = Buffer.alloc(0);
  let headersDone = false;
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      response.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    headersDone = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const colonAt = line.indexOf(':');
      if (colonAt < 0) continue;
      const key = line.slice(0, colonAt).trim();
      const value = line.slice(colonAt + 1).trim();
      if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
      else headers[key] = value;
    }
    response.writeHead(status, headers);
    response.write(head.subarray(end + 4));
  });
  cgi.stdout.on('end', () => {
    if (!headersDone && !response.headersSent) response.writeHead(502);
    response.end();
  });
  cgi.on('error', (error) => {
    if (!response.headersSent) response.writeHead(500);
    response.end(String(error.message));
  });
}
