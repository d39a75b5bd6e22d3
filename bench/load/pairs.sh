#!/usr/bin/env bash
# Interleaved pairs at one concurrency (bench/README.md): two gateways side by side, each a Release build (CPU 0), wrk
# and the fake upstream on CPU 1, wrk runs alternated A B, B A, ...; prints each pair's CPU µs/request and requests/s
# and the difference, then the median and mean difference. Quicker than run.sh for one question at one point.
#   bench/load/pairs.sh TREE "A args" "B args" [pairs=8] [connections=16] [seconds=4]
# TREE: a checkout with src/Sanjia and bench/Sanjia.Bench.Upstream built in Release; TREE_B=DIR runs B from another
# checkout; CMD_A / CMD_B replace a side's command (e.g. a published binary: CMD_B=artifacts/r2r/sanjia).
# Args: gateway options (--Sanjia:...) and NAME=value environment variables; {upstream} is the fake
# upstream's URL, which also takes OTLP exports. Needs wrk, taskset, curl, python3.
set -uo pipefail
tree=$1; aargs=$2; bargs=$3; n=${4:-8}; conns=${5:-16}; secs=${6:-4}
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}" $(cat $work/pids 2>/dev/null); do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up=$(free_port)
taskset -c 1 dotnet $tree/bench/Sanjia.Bench.Upstream/bin/Release/net10.0/Sanjia.Bench.Upstream.dll --port $up >$work/up.log 2>&1 & pids+=($!)
cat >$work/post.lua <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"fast","messages":[{"role":"user","content":"Say hello to the benchmark."}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-master-key-0123456789"
LUA
start() { # name args [command]
  local name=$1; shift; local cmd=$2; local port; port=$(free_port); mkdir -p $work/$name/models
  local envs=() rest=()
  for t in $1; do t=${t//\{upstream\}/http://127.0.0.1:$up}; if [[ $t == *=* && $t != --* ]]; then envs+=("$t"); else rest+=("$t"); fi; done
  env "${envs[@]}" taskset -c 0 $cmd \
    --Sanjia:Urls=http://127.0.0.1:$port --Sanjia:DataDir=$work/$name --Sanjia:ModelsDir=$work/$name/models \
    --Sanjia:MasterKey=sk-bench-master-key-0123456789 --Sanjia:Local:Embeddings=false --Sanjia:PresetsFromEnvironment=false \
    --Sanjia:Providers:bench:BaseUrl=http://127.0.0.1:$up/v1 --Sanjia:Providers:bench:ApiKey=sk-upstream \
    --Sanjia:Providers:bench:Models:0=fake --Sanjia:Models:fast:Deployments:0:Provider=bench \
    --Sanjia:Models:fast:Deployments:0:Model=fake "${rest[@]}" >$work/$name.log 2>&1 &
  echo $! >> $work/pids; echo "$!:$port"
}
A=$(start a "$aargs" "${CMD_A:-dotnet $tree/src/Sanjia/bin/Release/net10.0/sanjia.dll}")
B=$(start b "$bargs" "${CMD_B:-dotnet ${TREE_B:-$tree}/src/Sanjia/bin/Release/net10.0/sanjia.dll}")
for g in $A $B; do port=${g#*:}; for _ in $(seq 150); do curl -sf -o /dev/null http://127.0.0.1:$port/v1/chat/completions -H 'Authorization: Bearer sk-bench-master-key-0123456789' -H 'Content-Type: application/json' -d '{"model":"fast","messages":[{"role":"user","content":"hi"}]}' && break; sleep 0.2; done
  taskset -c 1 wrk -t1 -c$conns -d6s -s $work/post.lua http://127.0.0.1:$port/v1/chat/completions >/dev/null; done
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
measure() { local pid=${1%:*} port=${1#*:}; local c0; c0=$(cpu $pid)
  local out; out=$(taskset -c 1 wrk -t1 -c$conns -d${secs}s -s $work/post.lua http://127.0.0.1:$port/v1/chat/completions)
  local c1; c1=$(cpu $pid); local reqs; reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  python3 -c "print(round(($c1-$c0)*10000/$reqs,1), round($reqs/$secs))"; }
echo "pair A_us A_rps B_us B_rps B-A   (load $(cut -d' ' -f1 /proc/loadavg))"
diffs=()
for i in $(seq $n); do
  if (( i % 2 )); then a=$(measure $A); b=$(measure $B); else b=$(measure $B); a=$(measure $A); fi
  d=$(python3 -c "print(round(${b% *}-${a% *},1))"); diffs+=($d)
  echo "$i $a $b $d"
done
python3 -c "import statistics as s; d=[float(x) for x in '${diffs[*]}'.split()]; print('median B-A', s.median(d), 'mean', round(s.mean(d),1), 'load', open('/proc/loadavg').read().split()[0])"
