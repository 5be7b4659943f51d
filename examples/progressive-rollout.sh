#!/usr/bin/env bash
# A progressive rollout of a new image version: pause at 20% for a look, gates that watch the application,
# a bake after Completed, and the previous image put back when anything goes wrong.
#
#   examples/progressive-rollout.sh RESOURCE_GROUP SCALE_SET IMAGE_VERSION [GATE_COMMAND]
#
# GATE_COMMAND is any shell command that exits 0 while the application is good (default: `true`), e.g.
#   "curl -fsS --max-time 5 https://checkout.example.com/healthz"
# The times can be changed for a rehearsal: AUTO_RESUME (10m), GATE_INTERVAL (30s), BAKE (15m).
# From another terminal, while it is paused: `vmssroll resume -g RG -n NAME` (or `vmssroll undo`).
set -u

rg=${1:?usage: progressive-rollout.sh RESOURCE_GROUP SCALE_SET IMAGE_VERSION [GATE_COMMAND]}
name=${2:?scale set name}
version=${3:?image version}
gate=${4:-true}
target=(-g "$rg" -n "$name")

mode=$(vmssroll policy show "${target[@]}" -o json | python3 -c 'import json, sys; print(json.load(sys.stdin)["mode"])') || exit $?
if [ "$mode" != "Rolling" ]; then
  echo "== switching $name from $mode to Rolling"
  vmssroll enable-rolling "${target[@]}" --file "$(dirname "$0")/policies/conservative.json" --yes || exit $?
fi

echo "== rolling out image $version"
vmssroll rollout "${target[@]}" --image-version "$version" \
  --checkpoint 20% --auto-resume-after "${AUTO_RESUME:-10m}" \
  --gate "$gate" --gate-interval "${GATE_INTERVAL:-30s}" --gate-failures 3 \
  --bake "${BAKE:-15m}" --on-failure undo --yes
rc=$?
case $rc in
  0) echo "rollout of $version done and baked" ;;
  3) echo "refused at preflight: nothing was changed; see the findings above" >&2 ;;
  5) echo "rollout of $version STOPPED (by Azure or a gate); the previous image was put back" >&2 ;;
  6) echo "rollout of $version was cancelled or undone by someone else" >&2 ;;
  7) echo "rollout of $version ran out of time: 'vmssroll status ${target[*]}'" >&2 ;;
  *) echo "rollout of $version ended with exit $rc: 'vmssroll status ${target[*]}'" >&2 ;;
esac
exit $rc
