#!/usr/bin/env bash
# Checks the compose kit with the tools that consume it: podman-compose renders it with
# .env.example (syntax, anchors, every required variable named), the gateway's environment
# from it passes `llm-gateway check-config` against the image's config, promtool accepts its
# Prometheus config with the project's alerts, and the provisioned dashboard is the project's
# with only its data source bound. Run by .ci/run.
#
# Knobs: GATEWAY_BIN (target/release/llm-gateway), VENV (target/compose-check: podman-compose
# is installed there from PyPI when missing).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT/deploy/compose"
GATEWAY_BIN=${GATEWAY_BIN:-$ROOT/target/release/llm-gateway}
VENV=${VENV:-$ROOT/target/compose-check}
[ -x "$VENV/bin/podman-compose" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q podman-compose; }
WORK=$(mktemp -d /tmp/llm-gateway-compose-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# .env.example with the blanks filled, as an operator would.
sed -e 's/^MINIO_ROOT_PASSWORD=$/MINIO_ROOT_PASSWORD=check-password/' \
    -e 's/^GRAFANA_ADMIN_PASSWORD=$/GRAFANA_ADMIN_PASSWORD=check-password/' \
    -e "s/^GATEWAY_REDACTION_KEY=\$/GATEWAY_REDACTION_KEY=$(printf '%064d' 0)/" \
    -e 's/^ANTHROPIC_API_KEY=$/ANTHROPIC_API_KEY=sk-check/' \
    -e "s/^GATEWAY_ADMIN_TOKEN_SHA256=\$/GATEWAY_ADMIN_TOKEN_SHA256=$(printf %s check-admin | sha256sum | cut -c1-64)/" \
    .env.example >"$WORK/.env"
"$VENV/bin/podman-compose" --env-file "$WORK/.env" -f compose.yaml config >"$WORK/rendered.yaml"
# The gateway's environment, as compose renders it, is a valid configuration of the image's
# config (its /etc/llm-gateway paths pointed at this checkout).
sed -e "s#/etc/llm-gateway/policies#$ROOT/policies#; s#/etc/llm-gateway/prices.toml#$ROOT/config/prices.toml#" \
  ../container/gateway.toml >"$WORK/gateway.toml"
"$VENV/bin/python" - "$WORK/rendered.yaml" "$GATEWAY_BIN" "$WORK/gateway.toml" <<'PY'
import os, subprocess, sys, yaml
services = yaml.safe_load(open(sys.argv[1]))["services"]
for name in ("gateway-1", "gateway-2", "redis", "prometheus", "grafana", "minio"):
    assert name in services, f"service {name} missing"
env = services["gateway-1"]["environment"]
if isinstance(env, list):
    env = dict(e.split("=", 1) for e in env)
run = subprocess.run([sys.argv[2], "check-config", "--config", sys.argv[3]],
                     env={"PATH": os.environ["PATH"], **{k: str(v) for k, v in env.items()}},
                     capture_output=True, text=True)
sys.stdout.write(run.stdout)
sys.stderr.write(run.stderr)
sys.exit(run.returncode)
PY
cp prometheus/prometheus.yml ../prometheus/alerts.yml "$WORK/"
promtool check config "$WORK/prometheus.yml" >/dev/null
# The dashboard: the project's, data source bound to the provisioned uid.
sed 's/\${DS_PROMETHEUS}/prometheus/g' ../grafana/llm-gateway.json | cmp -s - grafana/dashboards/llm-gateway.json ||
  { echo "grafana/dashboards/llm-gateway.json differs from deploy/grafana/llm-gateway.json (regenerate: sed 's/\${DS_PROMETHEUS}/prometheus/g')" >&2; exit 1; }
echo "compose kit checks passed"
