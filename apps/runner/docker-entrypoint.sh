#!/bin/sh
# runnerkit image entrypoint: trust the CA of /etc/gitlab-runner/certs/ca.crt (or CA_CERTIFICATES_PATH), then run
# runnerkit with the container's arguments as PID 1, logging to stdout/stderr. TZ is honoured by Node and the
# copied zoneinfo.
set -e
CA_CERTIFICATES_PATH=${CA_CERTIFICATES_PATH:-/etc/gitlab-runner/certs/ca.crt}
if [ -f "$CA_CERTIFICATES_PATH" ]; then
  mkdir -p /usr/local/share/ca-certificates
  cp "$CA_CERTIFICATES_PATH" /usr/local/share/ca-certificates/runnerkit-ca.crt
  update-ca-certificates --fresh >/dev/null 2>&1 || true
  # Node keeps its own CA list: add the file for the GitLab API client, git uses the system store updated above.
  export NODE_EXTRA_CA_CERTS="$CA_CERTIFICATES_PATH"
fi
exec /usr/local/bin/node /opt/runnerkit/main.mjs "$@"
