#!/usr/bin/env bash
# Hold automatic OS image upgrades for approval, then approve the pending one and follow it.
#
#   examples/approve-os-upgrade.sh RESOURCE_GROUP SCALE_SET [INSTANCE_ID...]
#
# policy set (automatic OS upgrades with deferral, using the rolling policy) -> check --for os-upgrade ->
# approve --watch (all pending instances, or the ones given) -> history. Branches on vmssroll's exit codes.
# Works the same against Azure (az login) and against `vmssroll emulator serve` (its exports).
set -u

rg=${1:?usage: approve-os-upgrade.sh RESOURCE_GROUP SCALE_SET [INSTANCE_ID...]}
name=${2:?scale set name}
shift 2
target=(-g "$rg" -n "$name")
only=()
for id in "$@"; do only+=(--instance-ids "$id"); done

echo "== automatic OS upgrades on, each held for approval"
vmssroll policy set "${target[@]}" --automatic-os-upgrade --os-upgrade-deferral \
  --use-rolling-policy-for-os-upgrade --yes || exit $?

echo "== preflight"
vmssroll check "${target[@]}" --for os-upgrade
rc=$?
case $rc in
  0) ;;
  3) echo "not ready for automatic OS upgrades: fix the findings above, then re-run" >&2; exit 3 ;;
  *) echo "preflight failed (exit $rc)" >&2; exit "$rc" ;;
esac

echo "== approving"
vmssroll approve "${target[@]}" "${only[@]}" --yes --watch
rc=$?
case $rc in
  0) echo "approved OS upgrade completed" ;;
  8) echo "nothing waiting for approval (or an upgrade is already running)"; rc=0 ;;
  5) echo "OS upgrade FAULTED: see the rollbacks in the history below" >&2 ;;
  *) echo "could not approve or follow the upgrade (exit $rc)" >&2 ;;
esac

echo "== history"
vmssroll history "${target[@]}" || exit $?
exit $rc
