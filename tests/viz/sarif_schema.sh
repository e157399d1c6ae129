#!/bin/sh
# SPDX-License-Identifier: MIT
# sarif_schema.sh CACHEDIR — prints the path of the SARIF 2.1.0 JSON
# schema: $LG_SARIF_SCHEMA if set, else the copy the npm package
# @microsoft/jest-sarif ships (fetched once with `npm pack` into CACHEDIR;
# renamed into place, so tests running at once never read half a file).
# Fails with a reason on stderr when neither can be had.
set -u
if [ -n "${LG_SARIF_SCHEMA:-}" ] && [ -f "$LG_SARIF_SCHEMA" ]; then
  echo "$LG_SARIF_SCHEMA"; exit 0
fi
dir=$1
schema=$dir/sarif-2.1.0-rtm.5.json
if [ ! -f "$schema" ]; then
  command -v npm >/dev/null 2>&1 || { echo "npm is not installed" >&2; exit 1; }
  mkdir -p "$dir" || exit 1
  tmp=$(mktemp -d "$dir/fetch.XXXXXX") || exit 1
  if ( cd "$tmp" && timeout 120 npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null 2>&1 \
       && tar xzf microsoft-jest-sarif-1.0.0-beta.0.tgz package/lib/schemas/sarif-2.1.0-rtm.5.json ); then
    mv "$tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json" "$schema"
  fi
  rm -rf "$tmp"
  [ -f "$schema" ] || { echo "could not fetch @microsoft/jest-sarif with npm" >&2; exit 1; }
fi
echo "$schema"
