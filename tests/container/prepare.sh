#!/usr/bin/env bash
# Prepares a Debian machine (as root) for the container test, tests/container: podman with the
# runc runtime, and a local base image made from Debian packages, for machines that reach no
# image registry. Idempotent; the base image is built once (about a minute) and kept.
#   bash tests/container/prepare.sh && .venv/bin/pytest -m container tests/container
set -euo pipefail
base="${WALLETQL_TEST_BASE_IMAGE:-localhost/walletql-test-base:bookworm}"

missing=()
for tool in podman runc mmdebstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

# crun, podman's default runtime, and podman's default ulimits are refused on these machines:
# the test runs podman with --runtime runc, and no ulimit is set unless asked for.
conf=/etc/containers/containers.conf
mkdir -p /etc/containers
if ! grep -q '^default_ulimits' "$conf" 2>/dev/null; then
  if grep -q '^\[containers\]' "$conf" 2>/dev/null; then
    sed -i 's/^\[containers\]$/[containers]\ndefault_ulimits = []/' "$conf"
  else
    printf '[containers]\ndefault_ulimits = []\n' >>"$conf"
  fi
fi

if ! podman image exists "$base"; then
  # What deploy/Dockerfile needs of its base: python3 with venv, and useradd. And this
  # machine's own certificate authorities (a proxy's, in /usr/local/share/ca-certificates),
  # which pip is told to trust (PIP_CERT): the image's build installs from PyPI through them.
  tarball="$(mktemp --suffix=.tar)"
  trap 'rm -f "$tarball"' EXIT
  mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,passwd,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='for crt in /usr/local/share/ca-certificates/*.crt; do
        [ -e "$crt" ] && cp "$crt" "$1/usr/local/share/ca-certificates/"; done
      chroot "$1" update-ca-certificates >/dev/null 2>&1' \
    bookworm "$tarball"
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    "$tarball" "$base" >/dev/null
fi
echo "container test ready: base image $base"
