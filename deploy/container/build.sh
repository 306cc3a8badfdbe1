#!/usr/bin/env bash
# Builds the llm-gateway image: the release binary (stripped), the shared libraries `ldd`
# says it needs and their loader, the container config, prices and policies, staged under
# $WORK/rootfs and copied into a FROM scratch image by podman (vfs storage: works without
# privileges or overlay support). Prints the image's size.
#
# Knobs: IMAGE (default llm-gateway:dev), SKIP_BUILD=1 (use the existing target/release
# binary), WORK (the staging directory, default target/container), PODMAN_STORAGE (vfs).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IMAGE=${IMAGE:-llm-gateway:dev}
WORK=${WORK:-$ROOT/target/container}
STORAGE=${PODMAN_STORAGE:-vfs}
cd "$ROOT"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p llm-gateway -p mock-provider
rm -rf "$WORK" && mkdir -p "$WORK/rootfs/usr/local/bin" "$WORK/rootfs/etc/llm-gateway" \
  "$WORK/rootfs/var/lib/llm-gateway" "$WORK/rootfs/tmp"
strip -o "$WORK/rootfs/usr/local/bin/llm-gateway" target/release/llm-gateway
# The binary's shared libraries and the dynamic loader, at the paths the binary names.
ldd target/release/llm-gateway | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
  while read -r lib; do
    mkdir -p "$WORK/rootfs$(dirname "$lib")"
    cp -L "$lib" "$WORK/rootfs$lib"
  done
cp deploy/container/gateway.toml config/prices.toml "$WORK/rootfs/etc/llm-gateway/"
cp -r policies "$WORK/rootfs/etc/llm-gateway/policies"
printf 'llm-gateway:x:65532:65532::/var/lib/llm-gateway:/sbin/nologin\n' >"$WORK/rootfs/etc/passwd"
printf 'llm-gateway:x:65532:\n' >"$WORK/rootfs/etc/group"
printf 'hosts: files dns\n' >"$WORK/rootfs/etc/nsswitch.conf"
chmod 1777 "$WORK/rootfs/tmp"
cp deploy/container/Containerfile "$WORK/"
podman --storage-driver "$STORAGE" build --quiet --format docker -t "$IMAGE" -f "$WORK/Containerfile" "$WORK" >/dev/null
podman --storage-driver "$STORAGE" image inspect "$IMAGE" --format 'image {{.RepoTags}} size {{.Size}} bytes'
