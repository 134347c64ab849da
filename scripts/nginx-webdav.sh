#!/usr/bin/env bash
# Serve a Retrace remote cache with nginx's WebDAV module (Debian package `nginx`), in the
# foreground: stop it with SIGTERM (Ctrl-C, `kill PID`, or systemd). The tests run this very
# script on a loopback port, so what they exercise is what production runs.
#
#   RETRACE_CACHE_TOKEN=secret scripts/nginx-webdav.sh --root /srv/retrace-cache --listen 0.0.0.0:8080
#
#   --root DIR       where blobs (cas/), results (ac/) and version roots (roots/) are stored
#   --listen ADDR    host:port to listen on (default 127.0.0.1:8080)
#   --prefix DIR     nginx's working folder: config, pid, logs, temp files (default: a sibling of
#                    the root, DIR/../.NAME.nginx); never inside the served root
#   --workers N      worker processes (default auto)
#   --read-only      serve GET and HEAD only (no token needed: readers cannot change anything)
#   --user NAME      started as root, run the workers as NAME (default: the data folder's owner,
#                    or www-data / nobody when root owns it; workers never run as root)
#   --insecure-anonymous  accept writes (PUT, DELETE) without a token: anyone who reaches the
#                    port can overwrite or delete the cache. Refused without this flag.
# The bearer token comes from $RETRACE_CACHE_TOKEN (never the command line, which `ps` shows).
# Put TLS in front (or use `listen ... ssl`) off loopback, and sign the cache
# (cache.remote.signingKeyEnv): a token holder can write anything.
set -euo pipefail

root='' listen='127.0.0.1:8080' prefix='' workers='auto' readonly=0 anonymous=0 runuser=''
while [[ $# -gt 0 ]]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --listen) listen="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --user) runuser="$2"; shift 2 ;;
    --read-only) readonly=1; shift ;;
    --insecure-anonymous) anonymous=1; shift ;;
    *) echo "nginx-webdav.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -n "$root" ]] || { echo "nginx-webdav.sh: --root DIR is required" >&2; exit 2; }

token="${RETRACE_CACHE_TOKEN:-}"
if [[ -z "$token" && "$readonly" == 0 && "$anonymous" == 0 ]]; then
  echo "nginx-webdav.sh: refusing to accept writes without a token: set RETRACE_CACHE_TOKEN (e.g. \$(openssl rand -hex 32)), serve --read-only, or pass --insecure-anonymous to let anyone who reaches $listen overwrite and delete the cache" >&2
  exit 2
fi
if [[ -z "$token" && "$readonly" == 0 ]]; then
  echo "nginx-webdav.sh: WARNING: --insecure-anonymous: anyone who reaches $listen can overwrite and delete this cache" >&2
fi
if [[ -n "$token" ]]; then
  # Pasted into nginx.conf inside a quoted string, where `$` and quotes would mean something.
  [[ "$token" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || { echo "nginx-webdav.sh: use letters, digits and ._~+/=- in the token (e.g. openssl rand -hex 32)" >&2; exit 2; }
fi

nginx_bin="$(command -v nginx || true)"
[[ -z "$nginx_bin" && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx
[[ -n "$nginx_bin" ]] || { echo "nginx-webdav.sh: nginx is not installed (Debian/Ubuntu: apt-get install -y nginx)" >&2; exit 127; }

mkdir -p "$root"
root="$(cd "$root" && pwd -P)"
[[ "$root" != / ]] || { echo "nginx-webdav.sh: refusing to serve /" >&2; exit 2; }
prefix="${prefix:-$(dirname "$root")/.$(basename "$root").nginx}"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd -P)"
# The config (which holds the token) and the pid file must be out of reach of PUT and DELETE.
case "$prefix/" in
  "$root"/*) echo "nginx-webdav.sh: --prefix $prefix is inside the served root $root: its config and pid file would be writable by clients; pick a folder outside it" >&2; exit 2 ;;
esac
# Uploads land in a temp file and are renamed into place: keep that folder on the same
# filesystem as the root so the rename is atomic (a reader never sees half a blob). Its name
# starts with a dot: nginx refuses every dotted path below.
mkdir -p "$root/.upload" "$prefix/tmp"

auth=''
[[ -n "$token" ]] && auth="if (\$http_authorization != \"Bearer ${token}\") { return 401; }"
methods='dav_methods PUT DELETE; create_full_put_path on;'
[[ "$readonly" == 1 ]] && methods='limit_except GET { deny all; }'

# Started as root, the workers run as an unprivileged user that owns the data folder; the
# master keeps root only to bind the port and read the config (owned by root, mode 600).
user=''
if [[ "$(id -u)" == 0 ]]; then
  if [[ -z "$runuser" ]]; then
    runuser="$(stat -c %U "$root")"
    if [[ "$runuser" == root ]]; then
      if id www-data >/dev/null 2>&1; then runuser=www-data; else runuser=nobody; fi
      echo "nginx-webdav.sh: $root is owned by root: giving it to $runuser, the workers' user (--user NAME picks another)" >&2
      chown -R "$runuser:$(id -gn "$runuser")" "$root"
    fi
  fi
  id "$runuser" >/dev/null 2>&1 || { echo "nginx-webdav.sh: no user $runuser" >&2; exit 2; }
  [[ "$(id -u "$runuser")" != 0 ]] || { echo "nginx-webdav.sh: refusing to run the workers as root (--user NAME, or chown the data folder to an unprivileged user)" >&2; exit 2; }
  group="$(id -gn "$runuser")"
  user="user $runuser $group;"
  chown "$runuser:$group" "$root/.upload" "$prefix/tmp"
  chown root:root "$prefix"
  chmod 755 "$prefix"
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
    # Dotted paths (the upload folder, temporaries) are never served nor written.
    location ~ (^|/)\\. { return 403; }
    location / {
      $auth
      $methods
      dav_access user:rw group:r all:r;
      # Listing (JSON) lets \`retrace cache gc --remote\` find what to evict.
      autoindex on;
      autoindex_format json;
    }
  }
}
EOF
exec "$nginx_bin" -e "$prefix/error.log" -p "$prefix" -c "$prefix/nginx.conf" -g 'daemon off;'
