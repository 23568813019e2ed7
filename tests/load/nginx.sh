#!/usr/bin/env bash
# Starts Debian's nginx in the foreground on a free loopback port, with a
# config, pid file, logs and temp dirs under DIR (no root paths, no daemon).
#   source tests/load/nginx.sh; nginx_start DIR [WORKERS]   -> sets NGINX_PORT, NGINX_PID
#   nginx_stop
# With NGINX_ACCESS_LOG=FILE, nginx writes one line per request to FILE:
# "STATUS METHOD" (unbuffered; off otherwise, as it costs throughput).
# Used by tests/load/nginx_test.sh, tests/load/nginx_vs_wrk_test.sh and
# bench/load_vs_wrk.sh.

nginx_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

nginx_start() {
  local dir=$1 workers=${2:-1}
  local bin
  bin=$(command -v nginx || true)
  [ -n "$bin" ] || { [ -x /usr/sbin/nginx ] && bin=/usr/sbin/nginx; }
  if [ -z "$bin" ]; then
    echo "nginx is not installed (Debian package 'nginx'; scripts/install-deps.sh installs it)" >&2
    return 1
  fi
  mkdir -p "$dir/html" "$dir/tmp"
  # The size of Debian's default index page. Readable by all: started as
  # root, nginx serves from workers running as another user.
  head -c 612 /dev/zero | tr '\0' 'x' > "$dir/html/index.html"
  chmod 755 "$dir" "$dir/html"
  chmod 644 "$dir/html/index.html"
  NGINX_PORT=$(nginx_free_port)
  local access_log="access_log off;"
  if [ -n "${NGINX_ACCESS_LOG:-}" ]; then
    access_log="log_format status_only '\$status \$request_method'; access_log $NGINX_ACCESS_LOG status_only;"
  fi
  cat > "$dir/nginx.conf" <<CONF
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  $access_log
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $dir/html;
    location / { }
  }
}
CONF
  "$bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
  NGINX_PID=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null; then return 0; fi
    if ! kill -0 "$NGINX_PID" 2>/dev/null; then
      echo "nginx exited; its log:" >&2
      cat "$dir/error.log" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "nginx did not listen on 127.0.0.1:$NGINX_PORT within 5 s" >&2
  return 1
}

nginx_stop() {
  if [ -n "${NGINX_PID:-}" ]; then
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=
  fi
}
