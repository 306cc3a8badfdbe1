#!/usr/bin/env bash
# The gateway's load test (issue 2, item 11), in one run:
#   (a) RATE req/s on a fixed schedule for DURATION straight at the mock provider;
#   (b) the same through the gateway; overhead p50/p99 = (b) - (a);
#   (c) max throughput with MAX_CONNECTIONS connections, through the gateway and direct;
#   (d) streaming (STREAM=on): STREAM_RATE req/s of `"stream": true` requests answered with
#       STREAM_DELTAS text deltas, direct and through the gateway; overhead p50/p99 of the
#       time to the last byte and to the first byte;
#   (e) the gateway's peak RSS (VmHWM) after all that;
#   (f) an idle-stream soak (SOAK=on): SOAK_STREAMS streams open at once through the gateway,
#       each paused by the mock for SOAK_HOLD after its first delta; the gateway's RSS before
#       and while they are open, per open stream.
# Builds the release binaries, starts the mock (no added latency) and the gateway in front of
# it on free loopback ports, and stops both on exit. All traffic stays on 127.0.0.1; every
# run and every wait is bounded in time. Needs cargo and jq. See load-tests/README.md.
#
# Knobs (environment): TARGET_DIR (default: the workspace's target/), SKIP_BUILD=1, RATE,
# DURATION, WARMUP, BODY_BYTES, RATE_CONNECTIONS, MAX_CONNECTIONS, LOADGEN_THREADS, ROUNDS
# (repeats of (a)+(b), alternating; the overhead checked is the worse median), STRICT=1 (exit 1
# when a target is missed), QUOTA_STORE=memory|redis (redis: starts a redis-server on a free
# loopback port and points the gateway's quota store at it), TRANSCRIPTS=on|off (default on, as
# in the shipped config: records go to a fresh directory under the run's work dir; its size and
# the writer's counters are printed at the end), GATEWAY_BIN (default: $TARGET_DIR/release/
# llm-gateway; to compare two builds), NGINX=auto|off (auto: when nginx is installed, the same
# fixed-rate and max runs also go through a plain nginx reverse proxy, the baseline the
# gateway's overhead is judged against; also for (d)), PERF_OUT (a `perf record` of the
# gateway during its max run), PERF_STREAM_OUT (the same during round 1's streaming run through
# the gateway), STREAM=on|off (default on: run (d)), STREAM_RATE (default
# RATE), STREAM_DELTAS (20), SOAK=on|off (default on: run (f); off for quick runs),
# SOAK_STREAMS (10000; each needs one open file in loadgen and in the mock and two in the
# gateway, its client and its upstream connection: the script raises the soft open-file limit
# to the hard one and, when that is still too low, says so and soaks as many as fit),
# SOAK_HOLD (30s: how long the mock keeps each stream silent; ms, s or m).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}}
BIN=$TARGET_DIR/release
RATE=${RATE:-1000}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
BODY_BYTES=${BODY_BYTES:-10240}
RATE_CONNECTIONS=${RATE_CONNECTIONS:-16}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-64}
LOADGEN_THREADS=${LOADGEN_THREADS:-1}
ROUNDS=${ROUNDS:-1}
STRICT=${STRICT:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
QUOTA_STORE=${QUOTA_STORE:-memory}
TRANSCRIPTS=${TRANSCRIPTS:-on}
STREAM=${STREAM:-on}
STREAM_RATE=${STREAM_RATE:-$RATE}
STREAM_DELTAS=${STREAM_DELTAS:-20}
SOAK=${SOAK:-on}
SOAK_STREAMS=${SOAK_STREAMS:-10000}
SOAK_HOLD=${SOAK_HOLD:-30s}

# Open files each process keeps beside the soak's connections (listeners, epoll, transcript
# files, the upstream pool's idle connections are counted separately).
SOAK_FD_SPARE=64
# Client connections the gateway must accept beside the soak's (smoke tests, stragglers).
SOAK_CONNECTIONS_SPARE=64
# The gateway's server.max_connections when the config leaves it out (gateway.example.toml).
GATEWAY_MAX_CONNECTIONS_DEFAULT=10000
# Beyond SOAK_HOLD, how long the soak may take to open its streams and read them to the end.
SOAK_SPARE_S=60
# Between the last stream's head and reading the gateway's memory (well inside SOAK_HOLD).
SOAK_SETTLE_S=1

# The targets of issue 2 on a 2-core machine shared by load generator, gateway and mock.
OVERHEAD_P99_MAX_MS=0.5
MAX_RPS_MIN=20000
RSS_MAX_MB=50

command -v jq >/dev/null || { echo "run.sh: needs jq (apt-get install jq)" >&2; exit 1; }

# duration_ms TEXT: `30s`, `500ms`, `2m` or a bare number of seconds, in whole milliseconds.
duration_ms() {
    case $1 in
        *ms) echo $((${1%ms})) ;;
        *s) echo $((${1%s} * 1000)) ;;
        *m) echo $((${1%m} * 60000)) ;;
        *) echo $(($1 * 1000)) ;;
    esac
}
SOAK_HOLD_MS=$(duration_ms "$SOAK_HOLD")
if [[ $SOAK == on ]]; then
    # The soak needs an open file per stream in loadgen and the mock and two in the gateway;
    # the soft limit may go up to the hard one without privileges. Checked again before the
    # soak, against what each process has open by then.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi

if [[ $SKIP_BUILD != 1 ]]; then
    echo "== building release binaries into $TARGET_DIR" >&2
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --quiet \
        -p llm-gateway -p mock-provider -p loadgen)
fi
for bin in llm-gateway mock-provider loadgen; do
    [[ -x $BIN/$bin ]] || { echo "run.sh: $BIN/$bin is missing (build it or unset SKIP_BUILD)" >&2; exit 1; }
done
GATEWAY_BIN=${GATEWAY_BIN:-$BIN/llm-gateway}
NGINX=${NGINX:-auto}
if [[ $NGINX == auto ]] && ! command -v nginx >/dev/null; then
    echo "run.sh: nginx is not installed: no nginx baseline (apt-get install nginx)" >&2
    NGINX=off
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llm-gateway-load.XXXXXX")
MOCK_PID=
GATEWAY_PID=
REDIS_PID=
NGINX_PID=
SOAK_PID=
cleanup() {
    local pid
    for pid in $SOAK_PID $GATEWAY_PID $MOCK_PID $REDIS_PID $NGINX_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $SOAK_PID $GATEWAY_PID $MOCK_PID $REDIS_PID $NGINX_PID; do
        # Bounded: the gateway drains for at most its drain timeout, the mock for a second.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for FILE SED_EXPR: prints the first match of SED_EXPR in FILE, waiting up to 10 s.
wait_for() {
    local found
    for _ in $(seq 100); do
        found=$(sed -n "$2" "$1" | head -n 1)
        if [[ -n $found ]]; then echo "$found"; return 0; fi
        sleep 0.1
    done
    echo "run.sh: no match for '$2' in $1 after 10 s:" >&2
    cat "$1" >&2
    return 1
}

# --- the mock provider, answering at once. STREAM_DELTAS only shapes streamed answers; the
# soak's streams ask for their pause with the mock's `x-mock-scenario` request header, which
# the gateway forwards like any other.
"$BIN/mock-provider" --listen 127.0.0.1:0 --latency-ms 0 --deltas "$STREAM_DELTAS" \
    >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK_PID=$!
MOCK_ADDR=$(wait_for "$WORK/mock.out" 's/^listening on \(127\.0\.0\.1:[0-9]*\)$/\1/p')

# --- the gateway in front of it, with one policy that counts every request (so the quota
# stage does its work) but never refuses one. Relative paths in the config (prices) are
# resolved from the repository root. The `listening` line is logged at info, hence the filter.
mkdir -p "$WORK/policies"
cat >"$WORK/policies/load-test.toml" <<'POLICY'
[[policy]]
name = "load-test"
description = "Written by load-tests/run.sh: counts everything, refuses nothing."
requests_per_minute = 1_000_000_000
tokens_per_minute = 1_000_000_000_000
usd_per_day = 1_000_000_000.0
POLICY
REDIS_PORT=""
if [[ $QUOTA_STORE == redis ]]; then
    command -v redis-server >/dev/null || { echo "run.sh: QUOTA_STORE=redis needs redis-server" >&2; exit 1; }
    REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.out" 2>&1 &
    REDIS_PID=$!
    wait_for "$WORK/redis.out" 's/.*\(Ready to accept connections\).*/\1/p' >/dev/null
    echo "== redis-server on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)" >&2
fi
(
    cd "$ROOT"
    if [[ -n $REDIS_PORT ]]; then
        export GATEWAY__QUOTA__STORE=redis
        export GATEWAY__QUOTA__REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
    fi
    export GATEWAY__UPSTREAMS__ANTHROPIC__BASE_URL="http://$MOCK_ADDR"
    export GATEWAY__UPSTREAMS__OPENAI__BASE_URL="http://$MOCK_ADDR"
    export ANTHROPIC_API_KEY=load-test-anthropic-key
    export OPENAI_API_KEY=load-test-openai-key
    export GATEWAY__SERVER__LISTEN=127.0.0.1:0
    export GATEWAY__ADMIN__LISTEN=127.0.0.1:0
    export GATEWAY__QUOTA__POLICIES_DIR="$WORK/policies"
    export GATEWAY__TRANSCRIPTS__DIR="$WORK/transcripts"
    if [[ $TRANSCRIPTS == off ]]; then export GATEWAY__TRANSCRIPTS__ENABLED=false; fi
    # The soak's streams are client connections open at once: room for all of them.
    if [[ $SOAK == on ]] && ((SOAK_STREAMS + SOAK_CONNECTIONS_SPARE > GATEWAY_MAX_CONNECTIONS_DEFAULT)); then
        export GATEWAY__SERVER__MAX_CONNECTIONS=$((SOAK_STREAMS + SOAK_CONNECTIONS_SPARE))
    fi
    export GATEWAY__LOG__LEVEL='warn,llm_gateway=info'
    export GATEWAY__LOG__FORMAT=json
    exec "$GATEWAY_BIN" serve --config config/gateway.toml
) >"$WORK/gateway.out" 2>"$WORK/gateway.err" &
GATEWAY_PID=$!
GATEWAY_ADDR=$(wait_for "$WORK/gateway.err" \
    '/"listening"/s/.*"proxy":"\(127\.0\.0\.1:[0-9]*\)".*/\1/p')

# --- the baseline: a plain nginx reverse proxy in front of the same mock (keep-alive to the
# upstream, no buffering of the answer, one worker per CPU like the gateway's runtime).
NGINX_URL=
if [[ $NGINX != off ]]; then
    NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$WORK/nginx"
    cat >"$WORK/nginx/nginx.conf" <<NGINXCONF
worker_processes $(nproc);
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    upstream mock { server $MOCK_ADDR; keepalive 128; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        client_body_buffer_size 64k;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
NGINXCONF
    nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" >"$WORK/nginx.out" 2>&1 &
    NGINX_PID=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" && break
        sleep 0.1
    done
    NGINX_URL="http://127.0.0.1:$NGINX_PORT/v1/messages"
fi

DIRECT_URL="http://$MOCK_ADDR/v1/messages"
GATEWAY_URL="http://$GATEWAY_ADDR/v1/messages"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== mock on $MOCK_ADDR, gateway on $GATEWAY_ADDR (pid $GATEWAY_PID); load $LOAD_BEFORE" >&2

# CPU seconds a process has used so far (user + system, all threads), from /proc/PID/stat.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}

# CPU seconds of the gateway's transcript writer thread (its name, cut to the kernel's 15
# characters), to tell the cost of transcripts from the request path's.
writer_cpu_seconds() {
    local task
    for task in /proc/"$GATEWAY_PID"/task/*; do
        if [[ $(cat "$task/comm" 2>/dev/null) == transcript-writ* ]]; then
            awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "$task/stat"
            return
        fi
    done
    echo 0
}

# CPU seconds of nginx: its master and its workers (which live as long as nginx does).
nginx_cpu_seconds() {
    local pid total=0
    for pid in "$NGINX_PID" $(pgrep -P "$NGINX_PID"); do
        total=$(awk -v a="$total" -v b="$(cpu_seconds "$pid")" 'BEGIN { print a + b }')
    done
    echo "$total"
}

# loadgen NAME ARGS...: runs the load generator, keeps its JSON report as $WORK/NAME.json
# with the CPU time the gateway (and its transcript writer), nginx and the mock used meanwhile.
loadgen() {
    local name=$1 g0 w0 m0 n0=0 n1=0
    shift
    g0=$(cpu_seconds "$GATEWAY_PID")
    w0=$(writer_cpu_seconds)
    m0=$(cpu_seconds "$MOCK_PID")
    if [[ -n $NGINX_PID ]]; then n0=$(nginx_cpu_seconds); fi
    "$BIN/loadgen" --json --threads "$LOADGEN_THREADS" --body-bytes "$BODY_BYTES" \
        --label "$name" "$@" >"$WORK/$name.raw.json"
    if [[ -n $NGINX_PID ]]; then n1=$(nginx_cpu_seconds); fi
    jq --argjson g0 "$g0" --argjson g1 "$(cpu_seconds "$GATEWAY_PID")" \
        --argjson w0 "$w0" --argjson w1 "$(writer_cpu_seconds)" \
        --argjson n0 "$n0" --argjson n1 "$n1" \
        --argjson m0 "$m0" --argjson m1 "$(cpu_seconds "$MOCK_PID")" \
        '. + { gateway_cpu_s: ($g1 - $g0), writer_cpu_s: ($w1 - $w0), nginx_cpu_s: ($n1 - $n0),
               mock_cpu_s: ($m1 - $m0) }' \
        "$WORK/$name.raw.json" >"$WORK/$name.json"
    jq -r '"   \(.label): \(.achieved_rate | floor) req/s, p50 \(.latency_ms.p50) ms, p99 \(.latency_ms.p99) ms, \(.ok) ok, \(.errors) errors \(.errors_by_kind)"' \
        "$WORK/$name.json" >&2
    # Latencies of refusals measure nothing: more than 0.1 % errors ends the test.
    if ! jq -e '.errors * 1000 <= .completed and .ok > 0' "$WORK/$name.json" >/dev/null; then
        echo "run.sh: $name: too many errors to measure anything; gateway log:" >&2
        tail -n 20 "$WORK/gateway.err" >&2
        exit 1
    fi
}
field() { jq -r "$2" "$WORK/$1.json"; }

# A short smoke run through the gateway: a broken set-up should not take a minute to show.
loadgen smoke --url "$GATEWAY_URL" --rate 50 --duration 1s --warmup 0s --connections 1

for round in $(seq "$ROUNDS"); do
    echo "== round $round/$ROUNDS: $RATE req/s for $DURATION (+$WARMUP warm-up), $RATE_CONNECTIONS connections" >&2
    loadgen "direct-rate-$round" --url "$DIRECT_URL" --rate "$RATE" --duration "$DURATION" \
        --warmup "$WARMUP" --connections "$RATE_CONNECTIONS"
    loadgen "gateway-rate-$round" --url "$GATEWAY_URL" --rate "$RATE" --duration "$DURATION" \
        --warmup "$WARMUP" --connections "$RATE_CONNECTIONS"
    if [[ -n $NGINX_URL ]]; then
        loadgen "nginx-rate-$round" --url "$NGINX_URL" --rate "$RATE" --duration "$DURATION" \
            --warmup "$WARMUP" --connections "$RATE_CONNECTIONS"
    fi
    if [[ $STREAM == on ]]; then
        echo "== round $round/$ROUNDS, streaming: $STREAM_RATE req/s, $STREAM_DELTAS deltas each" >&2
        loadgen "direct-stream-$round" --stream --url "$DIRECT_URL" --rate "$STREAM_RATE" \
            --duration "$DURATION" --warmup "$WARMUP" --connections "$RATE_CONNECTIONS"
        STREAM_PERF_PID=
        if [[ -n ${PERF_STREAM_OUT:-} && $round == 1 ]]; then
            perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$GATEWAY_PID" \
                -o "$PERF_STREAM_OUT" >"$WORK/perf-stream.out" 2>&1 &
            STREAM_PERF_PID=$!
        fi
        loadgen "gateway-stream-$round" --stream --url "$GATEWAY_URL" --rate "$STREAM_RATE" \
            --duration "$DURATION" --warmup "$WARMUP" --connections "$RATE_CONNECTIONS"
        if [[ -n $STREAM_PERF_PID ]]; then kill -INT "$STREAM_PERF_PID"; wait "$STREAM_PERF_PID" || true; fi
        if [[ -n $NGINX_URL ]]; then
            loadgen "nginx-stream-$round" --stream --url "$NGINX_URL" --rate "$STREAM_RATE" \
                --duration "$DURATION" --warmup "$WARMUP" --connections "$RATE_CONNECTIONS"
        fi
    fi
done

echo "== max throughput, $MAX_CONNECTIONS connections, $DURATION (+$WARMUP warm-up)" >&2
PERF_PID=
if [[ -n ${PERF_OUT:-} ]]; then
    # A CPU profile of the gateway during the max-throughput run (cpu-clock: hardware
    # counters are often missing in VMs; DWARF call graphs: release builds keep no frame
    # pointers, hence the low rate). Read it with `perf report -i "$PERF_OUT"`.
    perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$GATEWAY_PID" -o "$PERF_OUT" \
        >"$WORK/perf.out" 2>&1 &
    PERF_PID=$!
fi
loadgen gateway-max --url "$GATEWAY_URL" --max --duration "$DURATION" --warmup "$WARMUP" \
    --connections "$MAX_CONNECTIONS"
if [[ -n $PERF_PID ]]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
loadgen direct-max --url "$DIRECT_URL" --max --duration "$DURATION" --warmup "$WARMUP" \
    --connections "$MAX_CONNECTIONS"
if [[ -n $NGINX_URL ]]; then
    loadgen nginx-max --url "$NGINX_URL" --max --duration "$DURATION" --warmup "$WARMUP" \
        --connections "$MAX_CONNECTIONS"
fi

RSS_KB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$GATEWAY_PID/status")
ADMIN_ADDR=$(sed -n '/"listening"/s/.*"admin":"\(127\.0\.0\.1:[0-9]*\)".*/\1/p' "$WORK/gateway.err" | head -1)

# --- the idle-stream soak, after the peak RSS above was read (the target is about load, not
# about 10,000 open streams).
status_kb() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }
open_files() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
open_files_max() { awk '/^Max open files/ { print $4 }' "/proc/$1/limits"; }
SOAK_OPEN=0
if [[ $SOAK == on ]]; then
    # Every process needs its streams' descriptors below its own limit: loadgen and the mock
    # one per stream, the gateway two (the client's connection and its own to the mock).
    fit_gateway=$((($(open_files_max "$GATEWAY_PID") - $(open_files "$GATEWAY_PID") - SOAK_FD_SPARE) / 2))
    fit_mock=$(($(open_files_max "$MOCK_PID") - $(open_files "$MOCK_PID") - SOAK_FD_SPARE))
    fit_loadgen=$(($(ulimit -n) - SOAK_FD_SPARE))
    SOAK_FIT=$(printf '%s\n' "$fit_gateway" "$fit_mock" "$fit_loadgen" | sort -n | head -n 1)
    SOAK_COUNT=$SOAK_STREAMS
    if ((SOAK_FIT < SOAK_STREAMS)); then
        SOAK_COUNT=$((SOAK_FIT > 0 ? SOAK_FIT : 0))
        echo "run.sh: soak: the open-file limit (ulimit -n $(ulimit -n), hard $(ulimit -Hn)) is too low" \
            "for SOAK_STREAMS=$SOAK_STREAMS: the gateway needs 2 per stream + what it has open" \
            "+ $SOAK_FD_SPARE, loadgen and the mock 1 per stream + $SOAK_FD_SPARE; room for" \
            "$fit_gateway streams in the gateway, $fit_mock in the mock, $fit_loadgen in loadgen." \
            "Soaking $SOAK_COUNT streams; raise the hard limit for the full count." >&2
    fi
fi
if ((${SOAK_COUNT:-0} > 0)); then
    SOAK_TIMEOUT_S=$((SOAK_HOLD_MS / 1000 + SOAK_SPARE_S))
    echo "== soak: $SOAK_COUNT streams through the gateway, each silent for $SOAK_HOLD after its first delta" >&2
    SOAK_RSS_BEFORE_KB=$(status_kb "$GATEWAY_PID" VmRSS)
    soak_g0=$(cpu_seconds "$GATEWAY_PID")
    "$BIN/loadgen" --json --threads "$LOADGEN_THREADS" --body-bytes "$BODY_BYTES" --label soak \
        --url "$GATEWAY_URL" --stream --hold "$SOAK_COUNT" --timeout "${SOAK_TIMEOUT_S}s" \
        -H "x-mock-scenario: pause-ms=$SOAK_HOLD_MS;after=1" \
        >"$WORK/soak.raw.json" 2>"$WORK/soak.err" &
    SOAK_PID=$!
    # loadgen says `open K/N streams after S s` once every stream has its head (or failed);
    # bounded by its own timeout, and over if it exits first.
    SOAK_OPEN=
    for _ in $(seq $((SOAK_TIMEOUT_S * 10))); do
        SOAK_OPEN=$(sed -n 's/^open \([0-9]*\)\/[0-9]* streams.*/\1/p' "$WORK/soak.err" | head -n 1)
        if [[ -n $SOAK_OPEN ]] || ! kill -0 "$SOAK_PID" 2>/dev/null; then break; fi
        sleep 0.1
    done
    SOAK_OPEN=${SOAK_OPEN:-0}
    # Let the last streams' first deltas through the gateway before reading its memory.
    sleep "$SOAK_SETTLE_S"
    SOAK_RSS_KB=$(status_kb "$GATEWAY_PID" VmRSS)
    SOAK_HWM_KB=$(status_kb "$GATEWAY_PID" VmHWM)
    SOAK_GATEWAY_FILES=$(open_files "$GATEWAY_PID")
    SOAK_INFLIGHT=$(curl -s --max-time 5 "http://$ADMIN_ADDR/metrics" |
        awk '/^llm_gateway_inflight_requests/ { n += $NF } END { print n + 0 }' || echo '?')
    SOAK_MOCK_RSS_KB=$(status_kb "$MOCK_PID" VmRSS)
    # Bounded: loadgen gives up on its streams after SOAK_TIMEOUT_S.
    for _ in $(seq $(((SOAK_TIMEOUT_S + 10) * 10))); do kill -0 "$SOAK_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SOAK_PID" 2>/dev/null; then
        echo "run.sh: soak: loadgen still running after $((SOAK_TIMEOUT_S + 10)) s; stopped" >&2
        kill -KILL "$SOAK_PID"
    fi
    wait "$SOAK_PID" || echo "run.sh: soak: loadgen failed:" "$(cat "$WORK/soak.err")" >&2
    SOAK_PID=
    SOAK_CPU_S=$(awk -v a="$soak_g0" -v b="$(cpu_seconds "$GATEWAY_PID")" 'BEGIN { print b - a }')
    SOAK_RSS_AFTER_KB=$(status_kb "$GATEWAY_PID" VmRSS)
    if [[ -s $WORK/soak.raw.json ]]; then
        jq -r '"   soak: \(.opened) opened, \(.open_peak) open at once, heads after \(.heads_after_s) s, \(.ok) ok, \(.errors) errors \(.errors_by_kind)"' \
            "$WORK/soak.raw.json" >&2
    fi
fi
TRANSCRIPT_COUNTS=$(curl -s "http://$ADMIN_ADDR/metrics" | grep '^llm_gateway_transcript_records_total' | tr '\n' ' ' || true)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- summary
row() { # NAME LABEL
    jq -r --arg name "$2" \
        '[$name, (.latency_ms.p50, .latency_ms.p90, .latency_ms.p99, .latency_ms.p99_9, .latency_ms.max | tostring),
          (.achieved_rate | floor | tostring), (.errors | tostring)] | @tsv' "$WORK/$1.json"
}
median_upper() { sort -g | awk '{ v[NR] = $1 } END { print v[int(NR / 2) + 1] }'; }

OVERHEADS=$WORK/overheads
: >"$OVERHEADS"
{
    printf 'run\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\treq/s\terrors\n'
    for round in $(seq "$ROUNDS"); do
        row "direct-rate-$round" "direct  $RATE/s #$round"
        row "gateway-rate-$round" "gateway $RATE/s #$round"
        p50=$(jq -rn --slurpfile d "$WORK/direct-rate-$round.json" --slurpfile g "$WORK/gateway-rate-$round.json" \
            '$g[0].latency_ms.p50 - $d[0].latency_ms.p50 | . * 1000 | round / 1000')
        p99=$(jq -rn --slurpfile d "$WORK/direct-rate-$round.json" --slurpfile g "$WORK/gateway-rate-$round.json" \
            '$g[0].latency_ms.p99 - $d[0].latency_ms.p99 | . * 1000 | round / 1000')
        printf '%s\t%s\n' "$p50" "$p99" >>"$OVERHEADS"
        printf 'overhead #%s\t%+.3f\t-\t%+.3f\t-\t-\t-\t-\n' "$round" "$p50" "$p99"
        if [[ -n $NGINX_URL ]]; then
            row "nginx-rate-$round" "nginx   $RATE/s #$round"
            jq -rn --arg round "$round" --slurpfile d "$WORK/direct-rate-$round.json" \
                --slurpfile n "$WORK/nginx-rate-$round.json" \
                '"nginx overhead #\($round)\t\($n[0].latency_ms.p50 - $d[0].latency_ms.p50 | . * 1000 | round / 1000)\t-\t\($n[0].latency_ms.p99 - $d[0].latency_ms.p99 | . * 1000 | round / 1000)\t-\t-\t-\t-"'
        fi
    done
    row gateway-max "gateway max x$MAX_CONNECTIONS"
    if [[ -n $NGINX_URL ]]; then row nginx-max "nginx   max x$MAX_CONNECTIONS"; fi
    row direct-max "direct  max x$MAX_CONNECTIONS"
} | column -t -s $'\t'

# Streaming: time to the first body byte and to the last, each from the scheduled send.
stream_row() { # NAME LABEL
    jq -r --arg name "$2" \
        '[$name, (.first_byte_ms.p50, .first_byte_ms.p99, .latency_ms.p50, .latency_ms.p90, .latency_ms.p99,
          .latency_ms.p99_9, .latency_ms.max | tostring), (.achieved_rate | floor | tostring),
          (.errors | tostring)] | @tsv' "$WORK/$1.json"
}
# stream_overhead BASE RUN: RUN minus BASE at first-byte p50, p99 and last-byte p50, p99 (ms).
stream_overhead() {
    jq -rn --slurpfile d "$WORK/$1.json" --slurpfile g "$WORK/$2.json" '
        [($g[0].first_byte_ms.p50 - $d[0].first_byte_ms.p50), ($g[0].first_byte_ms.p99 - $d[0].first_byte_ms.p99),
         ($g[0].latency_ms.p50 - $d[0].latency_ms.p50), ($g[0].latency_ms.p99 - $d[0].latency_ms.p99)]
        | map(. * 1000 | round / 1000 | tostring) | @tsv'
}
STREAM_OVERHEADS=$WORK/stream-overheads
NGINX_STREAM_OVERHEADS=$WORK/nginx-stream-overheads
: >"$STREAM_OVERHEADS"
: >"$NGINX_STREAM_OVERHEADS"
if [[ $STREAM == on ]]; then
    echo
    {
        printf 'streaming run\tfirst p50 ms\tfirst p99 ms\tlast p50 ms\tlast p90 ms\tlast p99 ms\tlast p99.9 ms\tmax ms\treq/s\terrors\n'
        for round in $(seq "$ROUNDS"); do
            stream_row "direct-stream-$round" "direct  stream $STREAM_RATE/s #$round"
            stream_row "gateway-stream-$round" "gateway stream $STREAM_RATE/s #$round"
            stream_overhead "direct-stream-$round" "gateway-stream-$round" | tee -a "$STREAM_OVERHEADS" |
                awk -F'\t' -v r="$round" '{ printf "overhead #%s\t%+.3f\t%+.3f\t%+.3f\t-\t%+.3f\t-\t-\t-\t-\n", r, $1, $2, $3, $4 }'
            if [[ -n $NGINX_URL ]]; then
                stream_row "nginx-stream-$round" "nginx   stream $STREAM_RATE/s #$round"
                stream_overhead "direct-stream-$round" "nginx-stream-$round" | tee -a "$NGINX_STREAM_OVERHEADS" |
                    awk -F'\t' -v r="$round" '{ printf "nginx overhead #%s\t%+.3f\t%+.3f\t%+.3f\t-\t%+.3f\t-\t-\t-\t-\n", r, $1, $2, $3, $4 }'
            fi
        done
    } | column -t -s $'\t'
fi
# stream_overhead_line FILE: the upper medians over rounds, as one line.
stream_overhead_line() {
    printf 'last byte p50 %+.3f ms, p99 %+.3f ms; first byte p50 %+.3f ms, p99 %+.3f ms' \
        "$(cut -f3 "$1" | median_upper)" "$(cut -f4 "$1" | median_upper)" \
        "$(cut -f1 "$1" | median_upper)" "$(cut -f2 "$1" | median_upper)"
}

OVERHEAD_P50=$(cut -f1 "$OVERHEADS" | median_upper)
OVERHEAD_P99=$(cut -f2 "$OVERHEADS" | median_upper)
GATEWAY_MAX=$(field gateway-max '.achieved_rate | floor')
DIRECT_MAX=$(field direct-max '.achieved_rate | floor')
RSS_MB=$(awk -v kb="$RSS_KB" 'BEGIN { printf "%.1f", kb / 1024 }')
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi; }
V_OVERHEAD=$(verdict "$OVERHEAD_P99 <= $OVERHEAD_P99_MAX_MS")
V_MAX=$(verdict "$GATEWAY_MAX >= $MAX_RPS_MIN")
V_RSS=$(verdict "$RSS_MB < $RSS_MAX_MB")

echo
echo "machine: $(nproc) CPUs, load $LOAD_BEFORE before, $LOAD_AFTER after; body $BODY_BYTES bytes; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "gateway peak RSS (VmHWM) $RSS_MB MB; direct max throughput (reference) $DIRECT_MAX req/s"
if [[ -n $NGINX_URL ]]; then
    NGINX_MAX=$(field nginx-max '.achieved_rate | floor')
    echo "nginx max throughput $NGINX_MAX req/s; gateway/nginx $(awk -v g="$GATEWAY_MAX" -v n="$NGINX_MAX" 'BEGIN { printf "%.2f", g / n }')"
fi
if [[ $TRANSCRIPTS == on ]]; then
    echo "transcripts: $(du -sh "$WORK/transcripts" 2>/dev/null | cut -f1) on disk; $TRANSCRIPT_COUNTS"
else
    echo "transcripts: off"
fi
if [[ $STREAM == on ]]; then
    echo "streaming ($STREAM_DELTAS deltas, $STREAM_RATE req/s) overhead, gateway - direct: $(stream_overhead_line "$STREAM_OVERHEADS")"
    if [[ -n $NGINX_URL ]]; then
        echo "streaming overhead, nginx - direct: $(stream_overhead_line "$NGINX_STREAM_OVERHEADS")"
    fi
else
    echo "streaming: off"
fi
if ((${SOAK_COUNT:-0} > 0)); then
    mb() { awk -v kb="$1" 'BEGIN { printf "%.1f MB", kb / 1024 }'; }
    soak_field() { if [[ -s $WORK/soak.raw.json ]]; then jq -r "$1" "$WORK/soak.raw.json"; else echo '?'; fi; }
    echo "soak: $SOAK_OPEN of $SOAK_COUNT streams open at once (SOAK_STREAMS=$SOAK_STREAMS, held $SOAK_HOLD;" \
        "gateway in flight: $SOAK_INFLIGHT, open files: $SOAK_GATEWAY_FILES), $(soak_field .ok) finished ok," \
        "$(soak_field '.errors') errors $(soak_field '.errors_by_kind | tojson'), all heads after $(soak_field .heads_after_s) s"
    echo "gateway RSS (VmRSS) before the soak $(mb "$SOAK_RSS_BEFORE_KB"), with the streams open $(mb "$SOAK_RSS_KB")" \
        "(VmHWM $(mb "$SOAK_HWM_KB")), after $(mb "$SOAK_RSS_AFTER_KB"):" \
        "$(awk -v a="$SOAK_RSS_BEFORE_KB" -v b="$SOAK_RSS_KB" -v n="$SOAK_OPEN" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / n; else printf "?" }') KB per open stream;" \
        "mock RSS $(mb "$SOAK_MOCK_RSS_KB"); gateway CPU $(awk -v s="$SOAK_CPU_S" -v n="$SOAK_COUNT" 'BEGIN { printf "%.0f", s * 1e6 / n }') us per stream"
elif [[ $SOAK == on ]]; then
    echo "soak: skipped, no room for a single stream under the open-file limit"
else
    echo "soak: off"
fi
echo
# CPU per request of each process (warm-up included), and the throughput that the machine's
# CPUs could give at that cost if nothing else ran.
{
    # proxy: the gateway's CPU for gateway runs (of which the transcript writer thread is
    # `writer`), nginx's for nginx runs, nothing for direct ones.
    printf 'CPU us/request\tproxy\twriter\tmock\tloadgen\tall\tceiling on %s CPUs\n' "$(nproc)"
    names=("gateway-rate-$ROUNDS")
    if [[ -n $NGINX_URL ]]; then names+=("nginx-rate-$ROUNDS"); fi
    if [[ $STREAM == on ]]; then
        names+=("gateway-stream-$ROUNDS")
        if [[ -n $NGINX_URL ]]; then names+=("nginx-stream-$ROUNDS"); fi
        names+=("direct-stream-$ROUNDS")
    fi
    names+=(gateway-max)
    if [[ -n $NGINX_URL ]]; then names+=(nginx-max); fi
    names+=(direct-max)
    for name in "${names[@]}"; do
        jq -r --argjson cpus "$(nproc)" '
            (.requests_total | if . > 0 then . else 1 end) as $n
            | (if (.label | startswith("gateway")) then [.gateway_cpu_s, .writer_cpu_s]
               elif (.label | startswith("nginx")) then [.nginx_cpu_s, 0] else [0, 0] end) as $p
            | ([.label] + [($p[0], $p[1], .mock_cpu_s, (.cpu_s // 0)) | . * 1e6 / $n | round]) as $row
            | ($row[1] + $row[3] + $row[4]) as $all
            | $row + [$all, (if $all > 0 then "\($cpus * 1e6 / $all | floor) req/s" else "?" end)]
            | map(tostring) | @tsv' "$WORK/$name.json"
    done
} | column -t -s $'\t'
echo
{
    printf 'target\tmeasured\tresult\n'
    printf 'overhead p99 <= %s ms at %s req/s\t%s ms (p50 %s ms)\t%s\n' \
        "$OVERHEAD_P99_MAX_MS" "$RATE" "$OVERHEAD_P99" "$OVERHEAD_P50" "$V_OVERHEAD"
    printf 'gateway max >= %s req/s (x%s)\t%s req/s\t%s\n' "$MAX_RPS_MIN" "$MAX_CONNECTIONS" "$GATEWAY_MAX" "$V_MAX"
    printf 'gateway peak RSS < %s MB\t%s MB\t%s\n' "$RSS_MAX_MB" "$RSS_MB" "$V_RSS"
} | column -t -s $'\t'

if [[ $STRICT == 1 && "$V_OVERHEAD $V_MAX $V_RSS" == *MISS* ]]; then exit 1; fi
