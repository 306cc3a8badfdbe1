#!/usr/bin/env bash
# The image's smoke test, without running a container (CI machines may not run them): the
# image's file system is exported, and its binary is started through the image's own dynamic
# loader and libraries (so a library missing from the image fails here), with the image's
# config, in front of the mock provider. Checks: the HEALTHCHECK command, /readyz, a metered
# request with a gateway key, a refused request without one, the process runs as given.
#
# Knobs: IMAGE (llm-gateway:dev), PODMAN_STORAGE (vfs), MOCK_BIN (target/release/mock-provider).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IMAGE=${IMAGE:-llm-gateway:dev}
STORAGE=${PODMAN_STORAGE:-vfs}
MOCK_BIN=${MOCK_BIN:-$ROOT/target/release/mock-provider}
WORK=$(mktemp -d /tmp/llm-gateway-image-smoke.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "image smoke test FAILED: $*" >&2; [ -f "$WORK/gateway.log" ] && tail -20 "$WORK/gateway.log" >&2; exit 1; }

id=$(podman --storage-driver "$STORAGE" create "$IMAGE")
podman --storage-driver "$STORAGE" export "$id" | tar -x -C "$WORK" --exclude 'dev/*' --exclude 'proc/*' --exclude 'sys/*'
podman --storage-driver "$STORAGE" rm "$id" >/dev/null
FS=$WORK
[ -x "$FS/usr/local/bin/llm-gateway" ] || fail "no binary in the image"
# Every library the binary links (and its loader) must be in the image, at the same path:
# the loader below would otherwise fall back to the host's.
for lib in $(ldd "$FS/usr/local/bin/llm-gateway" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
  [ -e "$FS$lib" ] || fail "the image lacks $lib"
done
loader=$(cd "$FS" && ls lib64/ld-linux-x86-64.so.2 2>/dev/null || ls lib/ld-linux-x86-64.so.2)
libs="$FS/lib/x86_64-linux-gnu:$FS/lib64:$FS/usr/lib/x86_64-linux-gnu"
run() { "$FS/$loader" --inhibit-cache --library-path "$libs" "$FS/usr/local/bin/llm-gateway" "$@"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MOCK_PORT=$(free_port); PROXY_PORT=$(free_port); ADMIN_PORT=$(free_port)
"$MOCK_BIN" --listen "127.0.0.1:$MOCK_PORT" --expect-api-key smoke-provider-key >/dev/null 2>&1 &
pids+=($!)
TOKEN=smoke-token
SHA=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
mkdir -p "$WORK/state"
env -i PATH="$PATH" ANTHROPIC_API_KEY=smoke-provider-key \
  GATEWAY__SERVER__LISTEN=127.0.0.1:$PROXY_PORT GATEWAY__ADMIN__LISTEN=127.0.0.1:$ADMIN_PORT \
  GATEWAY__UPSTREAMS__ANTHROPIC__BASE_URL=http://127.0.0.1:$MOCK_PORT \
  GATEWAY__AUTH__KEYS="[{sha256 = \"$SHA\", subject = \"smoke\"}]" \
  GATEWAY__QUOTA__POLICIES_DIR="$FS/etc/llm-gateway/policies" \
  GATEWAY__QUOTA__PRICES_FILE="$FS/etc/llm-gateway/prices.toml" \
  GATEWAY__TRANSCRIPTS__DIR="$WORK/state/transcripts" \
  GATEWAY__ADMIN__AUDIT_PATH="$WORK/state/admin-audit.jsonl" \
  bash -c "$(declare -f run); FS='$FS' loader='$loader' libs='$libs' run serve --config '$FS/etc/llm-gateway/gateway.toml'" \
  >"$WORK/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  run healthcheck --url "http://127.0.0.1:$ADMIN_PORT" 2>/dev/null && break
  sleep 0.1
done
run healthcheck --url "http://127.0.0.1:$ADMIN_PORT" || fail "the HEALTHCHECK command"
curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null || fail "/readyz"
body='{"model":"claude-sonnet-4-6","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}'
answer=$(curl -s "http://127.0.0.1:$PROXY_PORT/v1/messages" -H "x-api-key: $TOKEN" \
  -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' -d "$body")
grep -q 'Hello from the mock provider.' <<<"$answer" || fail "a request through the image's binary: $answer"
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PROXY_PORT/v1/messages" \
  -H 'content-type: application/json' -d "$body")
[ "$status" = 401 ] || fail "a request without a key got $status"
size=$(podman --storage-driver "$STORAGE" image inspect "$IMAGE" --format '{{.Size}}')
echo "image smoke test passed: $IMAGE, $size bytes"
