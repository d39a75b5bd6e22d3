#!/usr/bin/env bash
# Where a request's CPU goes: runs the gateway's Release build (this tree's, or --baseline DIR's as well) under a
# steady wrk load, samples it with perf (JIT code resolved through the runtime's perf map), and prints CPU
# microseconds per request by area (kernel, runtime, each framework assembly, each Sanjia namespace), side by side.
#   bench/profile/profile.sh [--baseline ../base] [--connections 16] [--seconds 15]
# Needs perf (linux-perf), wrk and taskset; builds what it runs. The gateway is pinned to CPU 0, wrk and the fake
# upstream to CPU 1, as in the load bench. Per-request figures come from sample counts (perf at 999 Hz, so a
# sample is about 1 ms of CPU) divided by the requests wrk completed while perf recorded.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
baseline=""; conns=16; seconds=15
while [ $# -gt 0 ]; do
  case $1 in
    --baseline) baseline=$(cd "$2" && pwd); shift 2;;
    --connections) conns=$2; shift 2;;
    --seconds) seconds=$2; shift 2;;
    *) echo "unknown option $1"; exit 2;;
  esac
done
for tool in perf wrk taskset; do command -v $tool >/dev/null || { echo "missing: $tool (apt-get install linux-perf wrk util-linux)"; exit 2; }; done

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

dotnet build bench/Sanjia.Bench.Upstream -c Release -nologo -v q >/dev/null
up_port=$(free_port)
taskset -c 1 dotnet bench/Sanjia.Bench.Upstream/bin/Release/net10.0/Sanjia.Bench.Upstream.dll --port "$up_port" >"$work/upstream.log" 2>&1 &
pids+=($!)

cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"fast","messages":[{"role":"user","content":"Say hello to the benchmark."}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-master-key-0123456789"
LUA

# start <name> <tree>: builds and starts that tree's gateway (arguments as bench/Sanjia.Bench.Load/Gateway.cs).
start() {
  local name=$1 tree=$2 port
  (cd "$tree" && dotnet build src/Sanjia -c Release -nologo -v q >/dev/null)
  port=$(free_port)
  mkdir -p "$work/$name/models"
  DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 taskset -c 0 dotnet "$tree/src/Sanjia/bin/Release/net10.0/sanjia.dll" \
    --Sanjia:Urls=http://127.0.0.1:$port --Sanjia:DataDir="$work/$name" --Sanjia:ModelsDir="$work/$name/models" \
    --Sanjia:MasterKey=sk-bench-master-key-0123456789 --Sanjia:Local:Embeddings=false --Sanjia:PresetsFromEnvironment=false \
    --Sanjia:Providers:bench:BaseUrl=http://127.0.0.1:$up_port/v1 --Sanjia:Providers:bench:ApiKey=sk-upstream \
    --Sanjia:Providers:bench:Models:0=fake --Sanjia:Models:fast:Deployments:0:Provider=bench \
    --Sanjia:Models:fast:Deployments:0:Model=fake >"$work/$name.log" 2>&1 &
  pids+=($!)
  echo "$name $! $port" >>"$work/gateways"
}

start current "$repo"
[ -n "$baseline" ] && start baseline "$baseline"

while read -r name pid port; do
  url=http://127.0.0.1:$port/v1/chat/completions
  for _ in $(seq 100); do curl -sf -o /dev/null "$url" -H 'Authorization: Bearer sk-bench-master-key-0123456789' -H 'Content-Type: application/json' \
    -d '{"model":"fast","messages":[{"role":"user","content":"hi"}]}' && break; sleep 0.2; done
  taskset -c 1 wrk -t1 -c"$conns" -d8s -s "$work/post.lua" "$url" >/dev/null # warm-up: tiered JIT settles
  taskset -c 1 wrk -t1 -c"$conns" -d$((seconds + 4))s -s "$work/post.lua" "$url" >"$work/$name.wrk" &
  wrk_pid=$!
  sleep 2
  perf record -F 999 -g -p "$pid" -o "$work/$name.data" -- sleep "$seconds" 2>/dev/null >/dev/null
  wait $wrk_pid
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$name.wrk")
  perf report -i "$work/$name.data" --no-children --sort dso,sym -q -g none 2>/dev/null >"$work/$name.report"
  samples=$(perf script -i "$work/$name.data" -F tid 2>/dev/null | wc -l) # one line per sample
  echo "$name $rps $samples" >>"$work/measured"
done <"$work/gateways"

python3 "$repo/bench/profile/areas.py" "$work" "$seconds"
