#!/usr/bin/env bash
# Whole processes side by side against nginx serving fixed pages, as issue
# #19 measured: 20,000 conversations in 101 pages of 200 (the benchmark's own
# bodies, saved once from `throughput serve`), then `throughput side-by-side`.
#
#   bash benches/side_by_side_nginx.sh [ROUNDS]
#
# Needs nginx and curl (Debian: `apt-get install nginx curl`); the Python SDK
# row needs `pip install ultracart-rest-sdk==4.1.208`. BENCH_BEFORE=path to
# another build of this benchmark adds a row for it. PORT (default 18919).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-11}"
port="${PORT:-18919}"
bench="$(cargo bench --bench throughput --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*throughput-[^"]*\)".*/\1/p' | tail -n 1)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# nginx's workers run as an unprivileged user: they must read the pages.
chmod 755 "$work"
mkdir -p "$work/pages"
"$bench" serve >"$work/serve.out" &
server_pid=$!
until grep -q listening "$work/serve.out" 2>/dev/null; do sleep 0.1; done
source_url="$(sed -n 's/^listening //p' "$work/serve.out")"
for offset in $(seq 0 200 20000); do
  curl -sf "$source_url/conversation/conversations?_limit=200&_offset=$offset" \
    -o "$work/pages/page-$offset.json"
done
kill "$server_pid"
server_pid=""

cat >"$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 100000;
  client_body_temp_path $work/tmp;
  proxy_temp_path $work/tmp;
  fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp;
  scgi_temp_path $work/tmp;
  server {
    listen 127.0.0.1:$port;
    default_type application/json;
    location = /conversation/conversations {
      root $work/pages;
      try_files /page-\$arg__offset.json =404;
    }
  }
}
EOF
nginx -c "$work/nginx.conf"
until [ -s "$work/nginx.pid" ]; do sleep 0.1; done
"$bench" side-by-side "http://127.0.0.1:$port" "$rounds"
