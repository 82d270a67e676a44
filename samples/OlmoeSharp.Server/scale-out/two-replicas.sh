#!/usr/bin/env bash
# Two replicas of OlmoeSharp.Server behind nginx (Debian's package) on loopback, driven by a few requests.
#
#   samples/OlmoeSharp.Server/scale-out/two-replicas.sh [--model M] [--requests N]
#
# The replicas listen on 127.0.0.1:18081 and :18082, nginx on 127.0.0.1:18080 (override with OLMOE_PORT_BASE). Each
# replica is a whole server with its own copy of the model (memory-mapped: on one machine they share the page
# cache); nginx sends each request to the replica with the fewest open connections, streams answers through
# unbuffered, and passes a request refused with 429 (queue full) or 503 (still loading) to the other replica —
# safe even for POST, as a refused request ran nothing. Everything started here is stopped on exit.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../../.." && pwd)"
model_args=()
requests=8
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model_args=(--model "$2"); shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    *) echo "usage: $0 [--model M] [--requests N]" >&2; exit 2 ;;
  esac
done
base="${OLMOE_PORT_BASE:-18080}"
front="http://127.0.0.1:$base"

if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "nginx is missing: installing Debian's package" >&2
    apt-get install -y nginx-light >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y nginx-light >/dev/null; }
  else
    echo "nginx is missing: install it (Debian/Ubuntu: sudo apt-get install nginx-light) and run this again." >&2
    exit 1
  fi
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

for port in "$base" $((base + 1)) $((base + 2)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "127.0.0.1:$port is already in use; stop what listens there or set OLMOE_PORT_BASE." >&2
    exit 1
  fi
done

work="$(mktemp -d /tmp/olmoe-scale-out.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building the server" >&2
dotnet build "$repo/samples/OlmoeSharp.Server" -c Release -v quiet -nologo >/dev/null
server="$repo/samples/OlmoeSharp.Server/bin/Release/net10.0/olmoe-server.dll"

wait_healthy() { # url, seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do
    curl -fs "$1/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "no healthy server at $1 after $2 s" >&2
  return 1
}

# One after the other: the first start makes the default random model, which the second then finds.
for i in 1 2; do
  port=$((base + i))
  (cd "$repo" && exec dotnet "$server" "${model_args[@]}" --urls "http://127.0.0.1:$port" --max-sequences 4 --max-queue 8) \
    >"$work/replica$i.log" 2>&1 &
  pids+=($!)
  wait_healthy "http://127.0.0.1:$port" 300
  echo "replica $i ready on 127.0.0.1:$port" >&2
done

mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 256; }
http {
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  client_max_body_size 1m;                 # the replicas' own limit

  upstream olmoe {
    least_conn;                            # long generations: balance open requests, not request counts
    server 127.0.0.1:$((base + 1)) max_fails=0;
    server 127.0.0.1:$((base + 2)) max_fails=0;
    keepalive 16;
  }
  server {
    listen 127.0.0.1:$base;
    location / {
      proxy_pass http://olmoe;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;                 # server-sent events go out token by token
      proxy_read_timeout 1h;
      # A 429 (queue full) or 503 (loading) ran nothing: try the other replica.
      proxy_next_upstream error http_429 http_503 non_idempotent;
    }
  }
}
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' >"$work/nginx.log" 2>&1 &
pids+=($!)
wait_healthy "$front" 10
echo "nginx on $front in front of both" >&2

model_id="$(curl -fs "$front/v1/models" | sed -E 's/.*"id":"([^"]+)".*/\1/')"
echo "model: $model_id" >&2

echo "sending $requests chat requests at once, and one streamed" >&2
for r in $(seq 1 "$requests"); do
  curl -fs "$front/v1/chat/completions" -H 'Content-Type: application/json' \
    -d "{\"model\":\"$model_id\",\"messages\":[{\"role\":\"user\",\"content\":\"Request $r: hello!\"}],\"max_tokens\":16,\"seed\":$r}" \
    >"$work/answer$r.json" &
done
curl -fsN "$front/v1/chat/completions" -H 'Content-Type: application/json' \
  -d "{\"model\":\"$model_id\",\"messages\":[{\"role\":\"user\",\"content\":\"Stream this.\"}],\"max_tokens\":8,\"stream\":true}" >"$work/stream.txt"
wait $(jobs -p | grep -vxF "$(printf '%s\n' "${pids[@]}")") 2>/dev/null || true

failed=0
for r in $(seq 1 "$requests"); do
  if grep -q '"finish_reason"' "$work/answer$r.json"; then
    echo "  request $r: $(sed -E 's/.*"content":"([^"]*)".*/\1/' "$work/answer$r.json" | cut -c1-60)"
  else
    echo "  request $r FAILED: $(cat "$work/answer$r.json")"; failed=1
  fi
done
grep -q '^data: \[DONE\]' "$work/stream.txt" && echo "  streamed: $(grep -c '^data: {' "$work/stream.txt") events, then [DONE]" || { echo "  stream FAILED"; failed=1; }

for i in 1 2; do
  served="$(curl -fs "http://127.0.0.1:$((base + i))/metrics" | grep -F 'olmoe_requests_total{endpoint="/v1/chat/completions",code="200"}' | cut -d' ' -f2)"
  echo "replica $i answered ${served:-0} chat requests"
done
exit $failed
