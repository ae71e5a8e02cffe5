#!/usr/bin/env bash
# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# make ros-bench: build this package into the colcon overlay of each minimal ROS 2 install (as
# make ros-test does, tools/ros/common.sh) and run benchmarks/ros_bench.py there: the node,
# plain and lifecycle, and a bare subscriber (the transport floor) fed by a camera-like
# publisher, side by side. Writes ros_bench.json (ros_bench-<distro>.json for each further
# distro) and prints the table.
#
#   tools/ros/bench.sh [DISTRO ...]      (default: $ROS_BENCH_DISTROS, else jazzy)
#
# Environment: ROS_BENCH_ARGS (extra ros_bench.py arguments, e.g. "--seconds 3 --rates 30"),
# BASELINE=<git revision>: also run that revision's node (git archive into .ros/baseline-<rev>)
# as target "baseline"; plus what common.sh reads (ROS_CACHE, SHARED_ROS, ROS_TORCH).
set -euo pipefail

fail() { echo "make ros-bench: $*" >&2; exit 1; }
# shellcheck source=tools/ros/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
distros=("$@")
[[ ${#distros[@]} -gt 0 ]] || read -r -a distros <<< "${ROS_BENCH_DISTROS:-jazzy}"
ros_check_built "${distros[@]}"
ros_pydeps

extra=()
if [[ -n "${BASELINE:-}" ]]; then
  rev=$(git -C "$repo" rev-parse --short "$BASELINE") || fail "BASELINE=$BASELINE is no git revision"
  base="$repo/.ros/baseline-$rev"
  if [[ ! -d "$base/grasp_classifier_ros" ]]; then
    mkdir -p "$base"
    git -C "$repo" archive "$rev" grasp_classifier_ros models | tar -x -C "$base"
  fi
  extra+=(--baseline "$base")
fi

status=0
first=1
for distro in "${distros[@]}"; do
  out=ros_bench.json
  [[ $first == 1 ]] || out="ros_bench-$distro.json"
  first=0
  echo ">> ros-bench $distro: colcon build of grasp_classifier_ros into $repo/.ros/$distro"
  (
    set -e
    export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-$(( $(printf '%s' "$repo:$distro:bench" | cksum | cut -d' ' -f1) % 100 + 100 ))}
    ros_overlay "$distro"
    echo "   ROS_DOMAIN_ID=$ROS_DOMAIN_ID; $($PY -P -c 'import grasp_classifier_ros; print(grasp_classifier_ros.__file__)')"
    # shellcheck disable=SC2086
    nice -n "${ROS_BENCH_NICE:-0}" $PY benchmarks/ros_bench.py --out "$out" \
      --log-dir "$repo/.ros/$distro/bench_logs" "${extra[@]}" ${ROS_BENCH_ARGS:-}
  ) || status=1
done
exit $status
