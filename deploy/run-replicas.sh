#!/usr/bin/env bash
# N replicas of the gateway on one machine, sharing one PostgreSQL store and one Redis (docs/deploy.md).
#   deploy/run-replicas.sh 3 postgresql://127.0.0.1:5432/distillshield redis://127.0.0.1:6379/0 http://127.0.0.1:9000/v1
# Each replica listens on 8001..800N and keeps its own spool in the working folder; put deploy/haproxy.cfg
# or deploy/nginx.conf in front. The upstream key comes from DISTILLSHIELD_UPSTREAM_KEY, never the command line.
set -euo pipefail
count=${1:?number of replicas}; db=${2:?postgresql:// URL}; redis=${3:?redis:// URL}; upstream=${4:?upstream URL}
bin=${DISTILLSHIELD:-distillshield}
pids=()
for i in $(seq 1 "$count"); do
  "$bin" --db "$db" -s redis_url "$redis" -s trust_forwarded_for true \
    serve --port $((8000 + i)) --upstream "$upstream" &
  pids+=($!)
done
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait' INT TERM
wait
