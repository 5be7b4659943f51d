#!/usr/bin/env bash
# Roll a new image version out to a scale set safely, branching on vmssroll's exit codes.
#
#   examples/safe-rollout.sh RESOURCE_GROUP SCALE_SET IMAGE_VERSION [POLICY_FILE]
#
# check -> enable-rolling (only if still Manual/Automatic) -> set-image -> wait.
# Works the same against Azure (az login) and against `vmssroll emulator serve` (its exports).
set -u

rg=${1:?usage: safe-rollout.sh RESOURCE_GROUP SCALE_SET IMAGE_VERSION [POLICY_FILE]}
name=${2:?scale set name}
version=${3:?image version}
policy=${4:-$(dirname "$0")/policies/conservative.json}
target=(-g "$rg" -n "$name")

echo "== preflight"
vmssroll check "${target[@]}" --for rolling
rc=$?
case $rc in
  0) ;;
  3) echo "not ready for Rolling upgrades: fix the findings above, then re-run" >&2; exit 3 ;;
  *) echo "preflight failed (exit $rc)" >&2; exit "$rc" ;;
esac

mode=$(vmssroll policy show "${target[@]}" -o json | python3 -c 'import json, sys; print(json.load(sys.stdin)["mode"])') || exit $?
if [ "$mode" != "Rolling" ]; then
  echo "== switching $name from $mode to Rolling"
  vmssroll enable-rolling "${target[@]}" --file "$policy" --wait-healthy 10m --yes || exit $?
else
  echo "== applying the policy"
  vmssroll policy set "${target[@]}" --file "$policy" --yes || exit $?
fi

echo "== pushing image $version"
vmssroll set-image "${target[@]}" --version "$version" --yes || exit $?

echo "== waiting for the rolling upgrade"
vmssroll wait "${target[@]}" --timeout 3h --progress-deadline 45m
rc=$?
case $rc in
  0) echo "rollout of $version completed" ;;
  5) echo "rollout FAULTED: the policy stopped it; see 'vmssroll status ${target[*]}'" >&2 ;;
  6) echo "rollout was cancelled" >&2 ;;
  7) echo "rollout stalled or ran out of time; it is still running: 'vmssroll watch ${target[*]}'" >&2 ;;
  *) echo "could not follow the rollout (exit $rc)" >&2 ;;
esac
exit $rc
