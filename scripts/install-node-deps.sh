#!/usr/bin/env bash
# Install the pinned node-opcua of tests/opcua/package.json into a cache
# outside the repository; quick when already there. Prints the directory.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${PKIFS_CACHE:-$HOME/.cache/pkifs}/opcua
mkdir -p "$cache"
stamp="$cache/.stamp"
want=$(sha256sum "$here/tests/opcua/package.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -d "$cache/node_modules/node-opcua" ]; then
	cp "$here/tests/opcua/package.json" "$cache/package.json"
	(cd "$cache" && npm install --no-audit --no-fund --loglevel=error >&2)
	echo "$want" >"$stamp"
fi
echo "$cache"
