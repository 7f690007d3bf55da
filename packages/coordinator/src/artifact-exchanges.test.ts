import { afterEach, describe, expect, it } from 'vitest';
import { type Coordinator, type CoordinatorOptions, createCoordinator } from './index.js';
import { exchangeNamed, expectResponse, fixture, multipartBody, send } from './test-support.js';

const JOB_TOKEN = 'glcbt-64_FAKE-job-token-0001001';
const minimalJob = fixture('job-minimal.json');
const upload = 'artifacts-upload.json';
const download = 'artifacts-download.json';

let open: Coordinator[] = [];
afterEach(async () => {
  await Promise.all(open.map((coordinator) => coordinator.close()));
  open = [];
});

async function withJobs(options: CoordinatorOptions = {}): Promise<Coordinator> {
  const coordinator = await createCoordinator(options);
  open.push(coordinator);
  coordinator.createJob({ ...minimalJob, id: 1000, token: 'glcbt-64_FAKE-job-token-0001000' });
  coordinator.createJob(minimalJob);
  coordinator.setJobStatus(1000, 'running');
  coordinator.setJobStatus(1001, 'running');
  return coordinator;
}

async function uploadArchive(coordinator: Coordinator, content: string, jobId = 1001, token = JOB_TOKEN) {
  return send(coordinator.url, {
    method: 'POST',
    path: `/api/v4/jobs/${jobId}/artifacts`,
    query: { artifact_format: 'zip', artifact_type: 'archive' },
    headers: { 'JOB-TOKEN': token, 'Content-Type': `multipart/form-data; boundary=b0undary` },
    bodyText: multipartBody(
      [{ name: 'file', filename: 'artifacts.zip', contentType: 'application/octet-stream', content }],
      'b0undary',
    ).toString('latin1'),
  });
}

describe('artifacts-upload.json', () => {
  it('archive upload (chunked) and junit report upload', async () => {
    const coordinator = await withJobs();
    for (const name of ['archive upload', 'junit report upload']) {
      const exchange = exchangeNamed(upload, name);
      expectResponse(await send(coordinator.url, exchange.request, { chunked: true }), exchange.response!);
    }
    expect(coordinator.job(1001)?.artifacts).toEqual([
      {
        artifact_type: 'archive',
        artifact_format: 'zip',
        filename: 'test-output-1001.zip',
        size: 19,
        expire_in: '1 week',
      },
      { artifact_type: 'junit', artifact_format: 'gzip', filename: 'junit.xml.gz', size: 26, expire_in: '1 week' },
    ]);
  });

  it('accepts the parameters as form fields too', async () => {
    const coordinator = await withJobs();
    const answer = await send(coordinator.url, {
      method: 'POST',
      path: '/api/v4/jobs/1001/artifacts',
      headers: { 'Content-Type': 'multipart/form-data; boundary=XyZ' },
      bodyText: multipartBody(
        [
          { name: 'token', content: JOB_TOKEN },
          { name: 'artifact_type', content: 'dotenv' },
          { name: 'artifact_format', content: 'gzip' },
          { name: 'file', filename: '.env.gz', contentType: 'application/octet-stream', content: 'A=1' },
          { name: 'expire_in', content: '30 days' },
        ],
        'XyZ',
      ).toString('latin1'),
    });
    expect(answer.status).toBe(201);
    expect(coordinator.job(1001)?.artifacts[0]).toMatchObject({ artifact_type: 'dotenv', expire_in: '30 days' });
  });

  it('too large', async () => {
    const coordinator = await withJobs({ maxArtifactSizeBytes: 10 });
    const exchange = exchangeNamed(upload, 'too large');
    expectResponse(
      await send(coordinator.url, exchange.request, { multipartFallback: 'x'.repeat(100) }),
      exchange.response!,
    );
    expect(coordinator.job(1001)?.artifacts).toEqual([]);
  });

  it('same type uploaded twice with different content; identical content is accepted', async () => {
    const coordinator = await withJobs();
    expect((await uploadArchive(coordinator, 'first')).status).toBe(201);
    expect((await uploadArchive(coordinator, 'first')).status).toBe(201);
    const exchange = exchangeNamed(upload, 'same type uploaded twice with different content');
    expectResponse(await send(coordinator.url, exchange.request, { multipartFallback: 'second' }), exchange.response!);
    expect(coordinator.job(1001)?.artifacts).toHaveLength(1);
  });

  it('job no longer running', async () => {
    const coordinator = await withJobs();
    coordinator.cancelJob(1001);
    const exchange = exchangeNamed(upload, 'job no longer running');
    expectResponse(await send(coordinator.url, exchange.request, { multipartFallback: 'zip' }), exchange.response!);
  });

  it('object storage temporarily failing (injected)', async () => {
    const coordinator = await withJobs();
    coordinator.inject({
      type: 'respond',
      endpoint: 'artifacts-upload',
      status: 503,
      body: { message: 'Connection reset by peer' },
    });
    const exchange = exchangeNamed(upload, 'object storage temporarily failing');
    expectResponse(await send(coordinator.url, exchange.request, { multipartFallback: 'zip' }), exchange.response!);
    expect((await uploadArchive(coordinator, 'zip')).status).toBe(201);
  });

  it('rejects unknown types and formats', async () => {
    const coordinator = await withJobs();
    const answer = await send(coordinator.url, {
      method: 'POST',
      path: '/api/v4/jobs/1001/artifacts',
      query: { artifact_format: 'rar' },
      headers: { 'JOB-TOKEN': JOB_TOKEN, 'Content-Type': 'multipart/form-data; boundary=b' },
      bodyText: multipartBody([{ name: 'file', filename: 'a', content: 'x' }], 'b').toString('latin1'),
    });
    expectResponse(answer, { status: 400, body: { error: 'artifact_format does not have a valid value' } });
  });
});

describe('artifacts-download.json', () => {
  async function withArchive(): Promise<Coordinator> {
    const coordinator = await withJobs();
    expect(
      (await uploadArchive(coordinator, '<zip archive bytes>', 1000, 'glcbt-64_FAKE-job-token-0001000')).status,
    ).toBe(201);
    coordinator.setJobStatus(1000, 'success');
    return coordinator;
  }

  it.each([
    'served directly (first try asks for direct download; server has no object storage)',
    'retry after a failed first try: no direct_download parameter',
  ])('%s', async (name) => {
    const coordinator = await withArchive();
    const exchange = exchangeNamed(download, name);
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('redirect to object storage (injected)', async () => {
    const coordinator = await withArchive();
    const exchange = exchangeNamed(download, 'redirect to object storage');
    coordinator.inject({
      type: 'respond',
      endpoint: 'artifacts-download',
      status: 302,
      headers: exchange.response!.headers!,
    });
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('no artifacts', async () => {
    const coordinator = await withJobs();
    const exchange = exchangeNamed(download, 'no artifacts');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('token may not read that job (another project)', async () => {
    const coordinator = await withArchive();
    coordinator.createJob({
      ...minimalJob,
      id: 3000,
      token: 'glcbt-64_FAKE-other-project-token',
      job_info: { ...(minimalJob.job_info as object), project_id: 43 },
    });
    coordinator.setJobStatus(3000, 'running');
    const exchange = exchangeNamed(download, 'token may not read that job');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('invalid token', async () => {
    const coordinator = await withArchive();
    const exchange = exchangeNamed(download, 'invalid token');
    expectResponse(await send(coordinator.url, exchange.request), exchange.response!);
  });

  it('a finished job may not download', async () => {
    const coordinator = await withArchive();
    coordinator.setJobStatus(1001, 'success');
    const exchange = exchangeNamed(download, 'retry after a failed first try: no direct_download parameter');
    expect((await send(coordinator.url, exchange.request)).status).toBe(403);
  });
});
