// Creates a blob container in azurite (idempotent). Usage: node azure-create-container.mjs <blobEndpoint> <account> <key> <container>
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

const [endpoint, account, key, container] = process.argv.slice(2);
const service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, key));
await service.getContainerClient(container).createIfNotExists();
process.stdout.write(`container ${container} ready\n`);
