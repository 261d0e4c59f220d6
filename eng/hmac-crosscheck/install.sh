#!/usr/bin/env bash
# Installs the pinned Azure SDK for JavaScript packages (package-lock.json beside this file) into
# .tools/hmac-crosscheck, where the HMAC cross-check test finds them. Does nothing when that exact lock is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
source_dir=eng/hmac-crosscheck
target=.tools/hmac-crosscheck
# The marker is written only after npm ci succeeded, so a half-finished install is redone.
if [ -f "$target/installed.lock" ] && cmp -s "$source_dir/package-lock.json" "$target/installed.lock"; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to install the HMAC cross-check's packages" >&2; exit 1; }
rm -rf "$target"
mkdir -p "$target"
cp "$source_dir/package.json" "$source_dir/package-lock.json" "$target/"
npm ci --prefix "$target" --no-audit --no-fund --loglevel=error >/dev/null
cp "$source_dir/package-lock.json" "$target/installed.lock"
echo "Azure SDK for JavaScript (HMAC cross-check) installed into $target"
