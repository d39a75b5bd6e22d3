#!/usr/bin/env bash
# One command for the end-to-end load run: builds Release, starts the fake upstreams, nginx (pass-through
# baseline), the bare .NET proxy (the platform's floor) and the gateway, measures them side by side and writes bench/results/<UTC date>.md.
# Options are passed to the suite (see bench/README.md), e.g. --repeats 5 --seconds 5 --note "after X".
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

missing=()
command -v wrk >/dev/null || missing+=(wrk)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || missing+=(nginx-light)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "${missing[@]}"
  else sudo apt-get update -qq && sudo apt-get install -y -qq "${missing[@]}"; fi
fi

dotnet build src/Sanjia/Sanjia.csproj -c Release -nologo -v q
dotnet build bench/Sanjia.Bench.Upstream/Sanjia.Bench.Upstream.csproj -c Release -nologo -v q
dotnet build bench/Sanjia.Bench.Proxy/Sanjia.Bench.Proxy.csproj -c Release -nologo -v q
dotnet build bench/Sanjia.Bench.Load/Sanjia.Bench.Load.csproj -c Release -nologo -v q

# The client side (this process, wrk and the fakes) on CPU 1; the suite pins nginx and the gateway to CPU 0.
pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]; then pin=(taskset -c 1); fi
exec "${pin[@]}" dotnet bench/Sanjia.Bench.Load/bin/Release/net10.0/Sanjia.Bench.Load.dll suite --repo "$repo" "$@"
