#!/usr/bin/env bash
# Debian packages the test suite drives for real: PostgreSQL, redis-server, FFmpeg, Chromium, Node.js.
# Installs only what is missing, so a machine that has them pays nothing.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

[ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || need+=(postgresql)
have redis-server || need+=(redis-server)
have ffmpeg || need+=(ffmpeg)
have ffprobe || need+=(ffmpeg)
have chromium || need+=(chromium)
have node || need+=(nodejs)
have npm || need+=(npm)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
