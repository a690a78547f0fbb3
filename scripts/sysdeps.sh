#!/usr/bin/env bash
# System packages coursebot needs: bubblewrap (the sandbox for students' snippets), and for the
# end-to-end browser test Debian's chromium and chromium-driver (+ a Korean font for its screenshots).
set -euo pipefail
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
[ -d /usr/share/fonts/truetype/nanum ] || missing+=(fonts-nanum)
# PostgreSQL's server binaries, for the tests that share the question log on a real server.
command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -q >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
else
  echo "coursebot: please install ${missing[*]} (Debian/Ubuntu: apt-get install ${missing[*]}); without it untrusted snippets are refused." >&2
fi
