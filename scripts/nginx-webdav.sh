#!/usr/bin/env bash
# Serve a Retrace remote cache with nginx's WebDAV module (Debian package `nginx`), in the
# foreground: stop it with SIGTERM (Ctrl-C, `kill PID`, or systemd). The tests run this very
# script on a loopback port, so what they exercise is what production runs.
#
#   RETRACE_CACHE_TOKEN=secret scripts/nginx-webdav.sh --root /srv/retrace-cache --listen 0.0.0.0:8080
#
#   --root DIR       where blobs (cas/), results (ac/) and version roots (roots/) are stored
#   --listen ADDR    host:port to listen on (default 127.0.0.1:8080)
#   --prefix DIR     nginx's working folder: config, pid, logs, temp files (default DIR/.nginx)
#   --workers N      worker processes (default auto)
# The bearer token comes from $RETRACE_CACHE_TOKEN (never the command line, which `ps` shows);
# without it the server answers anyone. Put TLS in front (or use `listen ... ssl`) off loopback.
set -euo pipefail

root='' listen='127.0.0.1:8080' prefix='' workers='auto'
while [[ $# -gt 0 ]]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --listen) listen="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    *) echo "nginx-webdav.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -n "$root" ]] || { echo "nginx-webdav.sh: --root DIR is required" >&2; exit 2; }

nginx_bin="$(command -v nginx || true)"
[[ -z "$nginx_bin" && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx
[[ -n "$nginx_bin" ]] || { echo "nginx-webdav.sh: nginx is not installed (Debian/Ubuntu: apt-get install -y nginx)" >&2; exit 127; }

mkdir -p "$root"
root="$(cd "$root" && pwd)"
prefix="${prefix:-$root/.nginx}"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
# Uploads land in a temp file and are renamed into place: keep that folder on the same
# filesystem as the root so the rename is atomic (a reader never sees half a blob).
mkdir -p "$root/.upload" "$prefix/tmp"

auth=''
if [[ -n "${RETRACE_CACHE_TOKEN:-}" ]]; then
  # Pasted into nginx.conf inside a quoted string, where `$` and quotes would mean something.
  [[ "$RETRACE_CACHE_TOKEN" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || { echo "nginx-webdav.sh: use letters, digits and ._~+/=- in the token (e.g. openssl rand -hex 32)" >&2; exit 2; }
  auth="if (\$http_authorization != \"Bearer ${RETRACE_CACHE_TOKEN}\") { return 401; }"
fi
# Started as root, workers take the identity of the data folder's owner (chown it to www-data
# in production); otherwise they run as whoever started the script.
user=''
if [[ "$(id -u)" == 0 ]]; then
  user="user $(stat -c %U "$root") $(stat -c %G "$root");"
  chown "$(stat -c %U:%G "$root")" "$root/.upload"
fi

(umask 077; cat >"$prefix/nginx.conf") <<EOF
$user
worker_processes $workers;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 1024; }
http {
  default_type application/octet-stream;
  log_format retrace '\$request_method \$uri \$status \$body_bytes_sent';
  access_log $prefix/access.log retrace;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path $root/.upload;
  proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi;
  uwsgi_temp_path $prefix/tmp/uwsgi;
  scgi_temp_path $prefix/tmp/scgi;
  server {
    listen $listen;
    root $root;
    client_max_body_size 0;
    log_not_found off;
    location / {
      $auth
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      # Listing (JSON) lets \`retrace cache gc --remote\` find what to evict.
      autoindex on;
      autoindex_format json;
    }
  }
}
EOF
exec "$nginx_bin" -e "$prefix/error.log" -p "$prefix" -c "$prefix/nginx.conf" -g 'daemon off;'
