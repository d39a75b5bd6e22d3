#!/usr/bin/env bash
# The scale-out run (bench/README.md "Scale-out"): builds Release, then runs the gateway on SQLite beside the gateway on
# PostgreSQL + Redis (a budgeted, rate-limited key), a revocation through one instance seen by another, nginx in front
# of one instance and of three, and the ledger writer's rows/s into PostgreSQL. Writes bench/results/<UTC date>-scale.md.
# Needs Debian's postgresql, redis-server, nginx-light and wrk (.ci/run and bench/load/run.sh install them).
# Options go to the scale run (e.g. --repeats 5 --seconds 3 --concurrency 16,64 --revocations 50);
# SCALE_LEDGER_ROWS=N sets the ledger run's rows (200000).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

dotnet build src/Sanjia/Sanjia.csproj -c Release -nologo -v q
dotnet build bench/Sanjia.Bench.Upstream/Sanjia.Bench.Upstream.csproj -c Release -nologo -v q
dotnet build bench/Sanjia.Bench.Load/Sanjia.Bench.Load.csproj -c Release -nologo -v q

# The client side on CPU 1 (this process, wrk, the fake vendor, PostgreSQL, Redis); the run pins the gateways and nginx to CPU 0.
pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]; then pin=(taskset -c 1); fi
load=bench/Sanjia.Bench.Load/bin/Release/net10.0/Sanjia.Bench.Load.dll
"${pin[@]}" dotnet $load scale --repo "$repo" "$@"
"${pin[@]}" dotnet $load ledger --rows "${SCALE_LEDGER_ROWS:-200000}"
