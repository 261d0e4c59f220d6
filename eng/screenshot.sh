#!/usr/bin/env bash
# Takes docs/dashboard.png, the picture in the README: the dashboard's activity charts over two days of seeded history
# and a real unmixed recording's waveform, in headless Chromium (Debian's package, as the browser tests use it).
#
#   eng/screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
mkdir -p docs
dotnet build tests/CallVault.Server.Tests -nologo -clp:ErrorsOnly
CALLVAULT_SCREENSHOT="$PWD/docs/dashboard.png" \
  dotnet test tests/CallVault.Server.Tests --no-build --filter "FullyQualifiedName~DashboardScreenshotTests"
echo "Wrote docs/dashboard.png"
