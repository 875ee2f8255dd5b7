#!/usr/bin/env bash
# Runs before `npm run dev` and `npm test`: Vapor's dependencies need Node >= 22, and
# npm only warns about that (EBADENGINE). Say so, and how to get it, before anything
# runs on an older node.
set -euo pipefail

major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 22 ] && exit 0

echo "Vapor needs Node 22 or newer; this is node $(node --version) ($(command -v node))." >&2
echo "Put Node 22 first on PATH in this shell (fetched once from the npm registry), then run the command again:" >&2
echo '  export PATH="$(scripts/node22-bin.sh):$PATH"' >&2
exit 1
