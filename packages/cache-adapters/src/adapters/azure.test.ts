import { describeWithComponent } from '@runnerkit/testkit';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { redactUrl } from '../redact.js';
import { describeCacheAdapter } from '../testing/conformance.js';
import { createAzureCache } from './azure.js';

describe('Azure settings', () => {
  it('builds account URLs from StorageDomain and refuses a missing key', async () => {
    const adapter = createAzureCache({
      accountName: 'acct',
      accountKey: 'bXlBenVyZUtleQ==',
      containerName: 'runners-cache',
      storageDomain: 'blob.core.chinacloudapi.cn',
    });
    const download = await adapter.getDownload({ name: 'project/1/a b' });
    if (download.type !== 'url') throw new Error('url expected');
    expect(redactUrl(download.get.url)).toBe('https://acct.blob.core.chinacloudapi.cn/runners-cache/project/1/a%20b');
    expect(download.get.url.searchParams.get('sp')).toBe('r');
    expect(() => createAzureCache({ accountName: 'a', containerName: 'c' })).toThrow(
      expect.objectContaining({ code: 'CACHE_CREDENTIALS_MISSING' }),
    );
  });
});

describeWithComponent('azure', 'Azure cache against azurite', (azure) => {
  const settings = {
    accountName: azure.accountName,
    accountKey: azure.accountKey,
    containerName: azure.container,
    endpoint: `${azure.endpoint}/${azure.accountName}`,
  };
  describeCacheAdapter('azure (azurite)', {
    create: () => createAzureCache(settings),
    additionalTests({ adapter, prefix }) {
      it('is refused by azurite when signed with a wrong key or used beyond its permissions', async () => {
        const wrong = createAzureCache({ ...settings, accountKey: Buffer.from('not the key').toString('base64') });
        const forged = await wrong.getUpload({ name: `${prefix}/project/1/forged` });
        if (forged.type !== 'url') throw new Error('url expected');
        const put = await request(forged.put.url, {
          method: 'PUT',
          headers: { ...forged.put.headers, 'content-length': '1' },
          body: 'x',
        });
        expect(put.statusCode).toBe(403);
        await put.body.dump();
        const download = await adapter().getDownload({ name: `${prefix}/project/1/read-only` });
        if (download.type !== 'url') throw new Error('url expected');
        const headers = { 'x-ms-blob-type': 'BlockBlob', 'content-length': '1' };
        const readOnlyPut = await request(download.get.url, { method: 'PUT', headers, body: Readable.from(['x']) });
        expect(readOnlyPut.statusCode).toBe(403);
        await readOnlyPut.body.dump();
      });
    },
  });
});
