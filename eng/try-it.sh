#!/usr/bin/env bash
# Runs the README's "Try it without Azure" walkthrough exactly as written: the bash block between the
# try-it:start and try-it:end markers, in a scratch copy of nothing but its own working files.
set -euo pipefail
cd "$(dirname "$0")/.."
script=$(awk '/<!-- try-it:start -->/{inside=1; next} /<!-- try-it:end -->/{inside=0} inside && !/^```/' README.md)
[ -n "$script" ] || { echo "No try-it block in README.md" >&2; exit 1; }
work=$(mktemp -d)
cleanup() {
  # Stop what the walkthrough started in the background (the emulator), then remove its files.
  pkill -f "CallVault.Server" 2>/dev/null || true
  pkill -f "CallVault.Emulator" 2>/dev/null || true
  sleep 1
  rm -rf emulator.log callvault.log recording.json call.wav data
  rm -rf "$work"
}
trap cleanup EXIT
echo "== README walkthrough"
printf 'set -euo pipefail\n%s\n' "$script" > "$work/try-it.sh"
# Output goes to a file, not a pipe: a background process started by the walkthrough would keep a pipe open.
status=0
bash "$work/try-it.sh" >"$work/output.log" 2>&1 || status=$?
cat "$work/output.log"
[ "$status" -eq 0 ] || { echo "The walkthrough failed (exit $status)." >&2; exit "$status"; }
grep -q "byte-identical" "$work/output.log" || { echo "The walkthrough did not end with a verified download." >&2; exit 1; }
