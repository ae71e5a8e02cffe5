#!/usr/bin/env bash
# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# make ros-test: build this package into a colcon overlay on each minimal ROS 2 install that
# tools/ros/build.sh made, and run every ROS test there with real rclpy, as a user would.
#
#   tools/ros/test.sh [DISTRO ...]      (default: $ROS_DISTROS, else "jazzy humble")
#
# Fails (never skips) when a ROS install is missing or a test skips for want of ROS.
# Per distro the workspace is .ros/<distro>/ (git-ignored: build/, install/, log/, ROS logs,
# test counts). The node's Python is Debian's /usr/bin/python3 (what ROS is built for); torch,
# OpenCV, numpy and rosbags come from a venv for that Python (--system-site-packages, so
# Debian's python3-* stay visible to pip) cached under $ROS_CACHE/pydeps-<key>, whose
# site-packages is appended to PYTHONPATH after the ROS paths.
# Environment: ROS_CACHE, SHARED_ROS (as build.sh), ROS_TORCH (default torch==2.13.0+cpu),
# ROS_TESTS (pytest paths), PYTEST_ARGS (extra pytest arguments, e.g. -x or -k ...),
# ROS_DOMAIN_ID (default: derived from this checkout and the distro), SKIP_APT=1.
set -euo pipefail

fail() { echo "make ros-test: $*" >&2; exit 1; }
# shellcheck source=tools/ros/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ROS_TESTS=${ROS_TESTS:-test/ros test/test_node_ros.py test/test_launch_ros.py test/test_launch.py test/test_ament_lint.py}
distros=("$@")
[[ ${#distros[@]} -gt 0 ]] || read -r -a distros <<< "${ROS_DISTROS:-jazzy humble}"

ros_check_built "${distros[@]}"
ros_pydeps

# -- the ament linters' Python dependencies (what rosdep installs for ament_flake8/pep257)
LINT_APT=(python3-flake8 python3-pydocstyle python3-flake8-builtins python3-flake8-comprehensions
          python3-flake8-docstrings python3-flake8-import-order python3-flake8-quotes)
LINT_MODULES='flake8, pydocstyle, flake8_builtins, flake8_comprehensions, flake8_docstrings, flake8_import_order, flake8_quotes'
if ! $PY -c "import $LINT_MODULES" 2>/dev/null; then
  if [[ "${SKIP_APT:-0}" == 1 || $(id -u) != 0 ]]; then
    fail "the ament linters need: apt-get install ${LINT_APT[*]}"
  fi
  echo ">> apt-get install ${LINT_APT[*]} (ament_flake8/ament_pep257 dependencies)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${LINT_APT[@]}" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
         apt-get install -y -q --no-install-recommends "${LINT_APT[@]}" >/dev/null; } \
    || fail "apt-get install ${LINT_APT[*]} failed"
fi

tests=()
for t in $ROS_TESTS; do [[ -e "$repo/$t" ]] && tests+=("$t"); done
[[ ${#tests[@]} -gt 0 ]] || fail "none of ROS_TESTS ($ROS_TESTS) exists"

status=0
summary=()
for distro in "${distros[@]}"; do
  ws="$repo/.ros/$distro"
  echo ">> ros-test $distro: colcon build of grasp_classifier_ros into $ws (overlay on $ROS_CACHE/ros2-$distro)"
  t0=$(date +%s)
  set +e
  (
    set -e
    ros_overlay "$distro"
    t1=$(date +%s)
    echo "   running: ${tests[*]}"
    export ROS_TEST_COUNTS="$ws/counts.json"
    rm -f "$ROS_TEST_COUNTS"
    where=$($PY -P -c 'import grasp_classifier_ros, torch, cv2; print(grasp_classifier_ros.__file__, "torch", torch.__version__, "cv2", cv2.__version__)')
    echo "   ROS_DOMAIN_ID=$ROS_DOMAIN_ID; $where"
    # -P: the repository root is not put on sys.path, so the installed package is tested.
    # --tb=native: pytest's own traceback style re-parses sources with ast, which Debian's
    # Python 3.11.2 can break with "SystemError: AST constructor recursion depth mismatch"
    # (CPython gh-106905) while other threads run; that aborted a whole session once here.
    rc=0
    # shellcheck disable=SC2086
    $PY -P -m pytest -p ros_test_report -p no:cacheprovider -ra --tb=native "${tests[@]}" \
      ${PYTEST_ARGS:-} || rc=$?
    ros2 daemon stop >/dev/null 2>&1 || true
    echo "   ros-test $distro: $(( $(date +%s) - t1 )) s of tests"
    exit $rc
  )
  rc=$?
  set -e
  counts=$(cat "$ws/counts.json" 2>/dev/null | $PY -c 'import json, sys
c = json.load(sys.stdin)
print(", ".join(f"{c[k]} {k}" for k in ("passed", "xfailed", "failed", "error", "xpassed", "skipped") if c.get(k)))' 2>/dev/null || echo 'no results')
  summary+=("$(printf '%-7s %-4s %4d s  %s' "$distro" "$([[ $rc == 0 ]] && echo ok || echo FAIL)" $(( $(date +%s) - t0 )) "$counts")")
  [[ $rc == 0 ]] || status=1
done

echo ">> ros-test summary (ROS 2 minimal builds from $SHARED_ROS, real rclpy):"
printf '   %s\n' "${summary[@]}"
exit $status
