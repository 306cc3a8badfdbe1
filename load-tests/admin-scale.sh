#!/usr/bin/env bash
# The admin API and the admin page at scale: SUBJECTS subjects (default 100000) seeded
# into a fresh redis-server on a free loopback port — three quota buckets each, plus the
# spend ledger's rankings and per-model spend for today and this month, and the bucket index,
# as the gateway writes them — then a gateway
# (quota.store = "redis") in front of it, and each admin read timed REPEAT times with curl.
# Prints the median and worst time per path. Needs redis-server, redis-cli, curl, python3.
#
# Knobs: SUBJECTS, REPEAT (default 20), GATEWAY_BIN (default target/release/llm-gateway),
# EXTRA_PATHS (space-separated admin paths to time as well).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUBJECTS=${SUBJECTS:-100000}
REPEAT=${REPEAT:-20}
GATEWAY_BIN=${GATEWAY_BIN:-$ROOT/target/release/llm-gateway}
WORK=$(mktemp -d /tmp/llm-gateway-admin-scale.XXXXXX)
TOKEN=admin-scale-token
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "seeding $SUBJECTS subjects into redis on port $REDIS_PORT"
python3 - "$SUBJECTS" >"$WORK/seed.resp" <<'PY'
import sys, time
n = int(sys.argv[1])
now = time.time()
day = time.strftime("%Y-%m-%d", time.gmtime(now)); month = day[:7]
day_id = int(now * 1000) // 86_400_000; minute_id = int(now * 1000) // 60_000
out = sys.stdout.buffer
def cmd(*args):
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        a = str(a).encode(); out.write(b"$%d\r\n%s\r\n" % (len(a), a))
for i in range(n):
    s = f"sub-{i:06d}"; cost = (i * 7919) % 5_000_000
    for label, kind, wid, spent, limit in (("requests_per_minute", "minute", minute_id, i % 50, 600),
                                           ("tokens_per_day", "day", day_id, i * 13 % 40_000_000, 50_000_000),
                                           ("usd_per_day", "day", day_id, cost, 100_000_000)):
        key = f"lgw:{{sub:{s}}}:sub:{s}:{label}"
        cmd("HSET", key, "kind", kind, "label", label, "w", wid,
            "spent", spent, "limit", limit, "reserved", 0, "next", -1)
        cmd("SADD", f"lgw:idx:sub:{s}", key)
    for window, period in (("day", day), ("month", month)):
        cmd("ZADD", f"lgw:spend:sub:{window}:{period}", cost, s)
        cmd("ZADD", f"lgw:spend:sub-model:{s}:{window}:{period}", cost, "claude-sonnet-4-6")
    if i % 100 == 0:
        cmd("ZADD", f"lgw:spend:org:day:{day}", cost, f"org-{i // 100}")
cmd("HSET", f"lgw:spend:total:day:{day}", "micro_usd", 123456789, "requests", n)
PY
redis-cli -p "$REDIS_PORT" --pipe <"$WORK/seed.resp" | tail -1
echo "keys: $(redis-cli -p "$REDIS_PORT" dbsize)"

PROXY_PORT=$(free_port); ADMIN_PORT=$(free_port)
TOKEN_SHA=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
env -i PATH="$PATH" \
  GATEWAY__SERVER__LISTEN=127.0.0.1:$PROXY_PORT GATEWAY__ADMIN__LISTEN=127.0.0.1:$ADMIN_PORT \
  GATEWAY__QUOTA__STORE=redis GATEWAY__QUOTA__REDIS_URL=redis://127.0.0.1:$REDIS_PORT \
  GATEWAY__ADMIN__TOKEN_SHA256=$TOKEN_SHA GATEWAY__ADMIN__AUDIT_PATH=$WORK/audit.jsonl \
  GATEWAY__TRANSCRIPTS__DIR=$WORK/transcripts GATEWAY__LOG__LEVEL=warn \
  ANTHROPIC_API_KEY=unused OPENAI_API_KEY=unused \
  "$GATEWAY_BIN" serve --config "$ROOT/config/gateway.toml" >"$WORK/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$ADMIN_PORT/healthz" >/dev/null && break; sleep 0.1; done

# The admin page's session: log in once with the token.
curl -s -o /dev/null -c "$WORK/cookies" --data-urlencode "token=$TOKEN" "http://127.0.0.1:$ADMIN_PORT/admin/ui/login"
paths=(
  "/admin/spenders?window=day&limit=50"
  "/admin/spenders?window=month&offset=50000&limit=50"
  "/admin/spenders?scope=org&limit=50"
  "/admin/spend?days=30"
  "/admin/usage/sub-077777"
  "/admin/limits/sub-077777"
  "/admin/overrides"
  "/admin/audit"
  "/admin/ui"
  "/admin/ui/subjects?subject=sub-077777"
  "/admin/ui/orgs?org=org-7"
  "/admin/ui/requests"
  "/admin/ui/audit"
)
# shellcheck disable=SC2206
paths+=(${EXTRA_PATHS:-})
printf '%-55s %10s %10s\n' path median_ms max_ms
for p in "${paths[@]}"; do
  times=()
  for _ in $(seq "$REPEAT"); do
    times+=("$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "authorization: Bearer $TOKEN" -b "$WORK/cookies" "http://127.0.0.1:$ADMIN_PORT$p")")
  done
  printf '%s\n' "${times[@]}" | python3 -c '
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
codes = {r[0] for r in rows}; t = sorted(float(r[1]) * 1000 for r in rows)
print(f"{sys.argv[1]:<55} {t[len(t)//2]:>10.1f} {t[-1]:>10.1f}" + ("" if codes == {"200"} else f"  status {sorted(codes)}"))' "$p"
done
