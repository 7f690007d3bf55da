import { BlobSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import {
  type CacheAdapter,
  type CacheDownload,
  type CacheObjectRequest,
  type CacheUpload,
  type CacheUploadRequest,
  DEFAULT_URL_EXPIRY_SECONDS,
  type PresignedRequest,
} from '../adapter.js';
import { CacheConfigError } from '../errors.js';

/** `[runners.cache.azure]` in camelCase. */
export interface AzureCacheSettings {
  accountName: string;
  /** Storage account key (base64). Workload / managed identities (empty key) are not supported yet. */
  accountKey?: string;
  containerName: string;
  /** Default `blob.core.windows.net`; URLs are `https://<account>.<domain>/<container>/<blob>`. */
  storageDomain?: string;
  /** Overrides the account URL, e.g. `http://127.0.0.1:10000/devstoreaccount1` for azurite. */
  endpoint?: string;
  maxUploadedArchiveSize?: number;
}

function encodeBlobName(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

/** An Azure Blob Storage cache: service SAS URLs signed with the account key. */
export function createAzureCache(settings: AzureCacheSettings): CacheAdapter {
  if (!settings.accountName) throw new CacheConfigError('CACHE_CONFIG_INVALID', 'Azure cache: AccountName is empty');
  if (!settings.containerName)
    throw new CacheConfigError('CACHE_CONFIG_INVALID', 'Azure cache: ContainerName is empty');
  if (!settings.accountKey) {
    throw new CacheConfigError(
      'CACHE_CREDENTIALS_MISSING',
      'Azure cache: AccountKey is empty (workload and managed identities are not supported)',
    );
  }
  const credential = new StorageSharedKeyCredential(settings.accountName, settings.accountKey);
  const accountUrl = (
    settings.endpoint ?? `https://${settings.accountName}.${settings.storageDomain || 'blob.core.windows.net'}`
  ).replace(/\/+$/, '');
  const container = settings.containerName;

  function sign(
    name: string,
    method: PresignedRequest['method'],
    permissions: string,
    expiresIn: number,
    headers: Record<string, string>,
  ) {
    const expiresAt = new Date(Date.now() + expiresIn * 1000);
    const sas = generateBlobSASQueryParameters(
      {
        containerName: container,
        blobName: name,
        permissions: BlobSASPermissions.parse(permissions),
        startsOn: new Date(Date.now() - 5 * 60_000),
        expiresOn: expiresAt,
      },
      credential,
    ).toString();
    const url = new URL(`${accountUrl}/${encodeURIComponent(container)}/${encodeBlobName(name)}?${sas}`);
    return { method, url, headers, expiresAt } satisfies PresignedRequest;
  }

  return {
    kind: 'azure',
    async getDownload(object: CacheObjectRequest): Promise<CacheDownload> {
      const expiresIn = object.expiresInSeconds ?? DEFAULT_URL_EXPIRY_SECONDS;
      return {
        type: 'url',
        get: sign(object.name, 'GET', 'r', expiresIn, {}),
        head: sign(object.name, 'HEAD', 'r', expiresIn, {}),
      };
    },
    async getUpload(object: CacheUploadRequest): Promise<CacheUpload> {
      const expiresIn = object.expiresInSeconds ?? DEFAULT_URL_EXPIRY_SECONDS;
      const headers: Record<string, string> = {
        'content-type': 'application/octet-stream',
        'x-ms-blob-type': 'BlockBlob',
      };
      if (object.humanKey !== undefined) headers['x-ms-meta-cachekey'] = encodeURIComponent(object.humanKey);
      return {
        type: 'url',
        put: sign(object.name, 'PUT', 'cw', expiresIn, headers),
        ...(settings.maxUploadedArchiveSize ? { maxSize: settings.maxUploadedArchiveSize } : {}),
      };
    },
  };
}
