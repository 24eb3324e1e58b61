#!/usr/bin/env bash
# N app replicas on this machine, ports BASE_PORT.. (default 3 from 8501), all training on
# the Ray cluster at MAKEMORE_RAY_ADDRESS and reading one run cache, MAKEMORE_RUN_CACHE_DIR
# (a folder every replica's machine mounts: NFS is fine). Ctrl-C or SIGTERM stops them all.
#
#   MAKEMORE_RAY_ADDRESS=head:6379 MAKEMORE_RUN_CACHE_DIR=/mnt/course/runs deploy/replicas.sh 3
set -euo pipefail
N="${1:-3}"
BASE_PORT="${BASE_PORT:-8501}"
ADDRESS="${ADDRESS:-127.0.0.1}"   # the proxy's side of the network: 127.0.0.1 when it is here
: "${MAKEMORE_RAY_ADDRESS:?set MAKEMORE_RAY_ADDRESS (auto, host:6379 or ray://host:10001)}"
: "${MAKEMORE_RUN_CACHE_DIR:?set MAKEMORE_RUN_CACHE_DIR to the shared run cache folder}"
export MAKEMORE_RAY_ADDRESS MAKEMORE_RUN_CACHE_DIR
cd "$(dirname "$0")/.."
pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait; }
trap stop INT TERM EXIT
for ((i = 0; i < N; i++)); do
  streamlit run app.py --server.port $((BASE_PORT + i)) --server.address "$ADDRESS" \
    --server.headless true --browser.gatherUsageStats false &
  pids+=($!)
  echo "replica $i: http://$ADDRESS:$((BASE_PORT + i)) (pid $!)"
done
wait
