#!/usr/bin/env bash
# The Ray head of a course (README "A course on several machines"): run it on one machine.
# It trains too (--num-cpus, default: every core but one, kept for the hub and Ray itself).
# Stop it with `ray stop` on that machine.
set -euo pipefail
CPUS="${CPUS:-$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))}"
exec ray start --head \
  --port "${RAY_PORT:-6379}" \
  --ray-client-server-port "${RAY_CLIENT_PORT:-10001}" \
  --num-cpus "$CPUS" \
  --include-dashboard=false \
  --disable-usage-stats "$@"
