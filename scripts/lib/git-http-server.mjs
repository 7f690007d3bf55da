// Git smart-HTTP server for tests: every request needs Basic auth (as GitLab asks for gitlab-ci-token:<token>),
// then `git http-backend` answers it as CGI. Usage: node git-http-server.mjs <projectRoot> <port> <user> <password>
import { spawn } from 'node:child_process';
import http from 'node:http';

const [root, port = '8929', user = 'gitlab-ci-token', password = 'test-job-token'] = process.argv.slice(2);
if (!root) {
  process.stderr.write('usage: git-http-server.mjs <projectRoot> <port> <user> <password>\n');
  process.exit(2);
}
const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const server = http.createServer((request, response) => {
  if (request.headers.authorization !== expected) {
    response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="runnerkit-git"' }).end('HTTP Basic: Access denied\n');
    return;
  }
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const env = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: request.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: request.headers['content-type'] ?? '',
    REMOTE_USER: user,
    REMOTE_ADDR: request.socket.remoteAddress ?? '',
  };
  if (request.headers['content-length']) env.CONTENT_LENGTH = request.headers['content-length'];
  // Every header reaches the CGI as HTTP_*: Git-Protocol (v2) and Content-Encoding (gzip bodies) need that.
  for (const [name, value] of Object.entries(request.headers)) {
    env[`HTTP_${name.toUpperCase().replace(/-/g, '_')}`] = String(value);
  }
  const cgi = spawn('git', ['http-backend'], { env });
  request.pipe(cgi.stdin);
  cgi.stdin.on('error', () => {});
  let head = Buffer.alloc(0);
  let headersDone = false;
  cgi.stdout.on('data', (chunk) => {
    if (headersDone) {
      response.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    headersDone = true;
    let status = 200;
    const headers = {};
    for (const line of head.subarray(0, end).toString().split('\r\n')) {
      const colon = line.indexOf(':');
      const key = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else headers[key] = value;
    }
    response.writeHead(status, headers);
    response.write(head.subarray(end + 4));
  });
  cgi.stdout.on('end', () => response.end());
  cgi.stderr.on('data', (data) => process.stderr.write(data));
  cgi.on('error', (error) => {
    if (!response.headersSent) response.writeHead(500);
    response.end(String(error));
  });
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`git http on 127.0.0.1:${port} root=${root}\n`));
