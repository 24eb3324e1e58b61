#!/usr/bin/env bash
# A training machine of a course: joins the head at HEAD (host or host:port). One training
# slot per core (--num-cpus; the hub starts one slot actor per CPU the cluster has when the
# first app server connects). Stop it with `ray stop` on that machine.
set -euo pipefail
HEAD="${1:?usage: deploy/ray-worker.sh HEAD_HOST[:PORT] [ray start options]}"
shift
[[ "$HEAD" == *:* ]] || HEAD="$HEAD:6379"
exec ray start --address "$HEAD" --num-cpus "${CPUS:-$(nproc)}" --disable-usage-stats "$@"
