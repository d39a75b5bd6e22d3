#!/usr/bin/env bash
# Start-up of two gateway builds, alternated (bench/README.md): spawn -> first answered chat through a fake vendor,
# the gateway on CPU 0 and the fake on CPU 1, an empty data folder each time; prints wall time, the gateway's CPU time
# and its RSS at that moment. Compares, e.g., a JIT-compiled publish with a ReadyToRun one:
#   bench/load/startup.sh "artifacts/plain/sanjia" "artifacts/r2r/sanjia" [runs=4]
#   bench/load/startup.sh "dotnet src/Sanjia/bin/Release/net10.0/sanjia.dll" "..." 4
# Needs bench/Sanjia.Bench.Upstream built in Release, taskset, curl, python3.
set -u
A=$1; B=$2; n=${3:-4}
root=$(cd "$(dirname "$0")/../.." && pwd)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up=$(free_port)
taskset -c 1 dotnet "$root/bench/Sanjia.Bench.Upstream/bin/Release/net10.0/Sanjia.Bench.Upstream.dll" --port "$up" >/dev/null 2>&1 & upstream=$!
trap 'kill $upstream 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$up/" && break; sleep 0.1; done
one() {
  local cmd=$1 port dir t0 t1 pid
  port=$(free_port); dir=$(mktemp -d); mkdir -p "$dir/models"
  t0=$(date +%s%N)
  # shellcheck disable=SC2086 # the command is words on purpose ("dotnet x.dll")
  taskset -c 0 $cmd --Sanjia:Urls=http://127.0.0.1:$port --Sanjia:DataDir=$dir --Sanjia:ModelsDir=$dir/models \
    --Sanjia:MasterKey=sk-bench-master-key-0123456789 --Sanjia:Local:Embeddings=false --Sanjia:PresetsFromEnvironment=false \
    --Sanjia:Providers:bench:BaseUrl=http://127.0.0.1:$up/v1 --Sanjia:Providers:bench:ApiKey=sk-upstream \
    --Sanjia:Providers:bench:Models:0=fake --Sanjia:Models:fast:Deployments:0:Provider=bench \
    --Sanjia:Models:fast:Deployments:0:Model=fake >"$dir/log" 2>&1 & pid=$!
  for _ in $(seq 3000); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/v1/chat/completions" -H 'Authorization: Bearer sk-bench-master-key-0123456789' \
      -H 'Content-Type: application/json' -d '{"model":"fast","messages":[{"role":"user","content":"hi"}]}' && break
    sleep 0.01
  done
  t1=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000000 )) ms wall, $(awk '{print ($14+$15)*10}' /proc/$pid/stat) ms CPU, $(awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status) MiB RSS"
  kill $pid; wait $pid 2>/dev/null; rm -rf "$dir"
}
for i in $(seq "$n"); do echo "A $i: $(one "$A")"; echo "B $i: $(one "$B")"; done
