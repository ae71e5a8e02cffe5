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

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SHARED_ROS=$(realpath -m "${SHARED_ROS:-$repo/../shared/ros2}")
ROS_CACHE=$(realpath -m "${ROS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/grasp_classifier_ros}")
ROS_TORCH=${ROS_TORCH:-torch==2.13.0+cpu}
ROS_TESTS=${ROS_TESTS:-test/ros test/test_node_ros.py test/test_launch_ros.py test/test_launch.py test/test_ament_lint.py}
PY=/usr/bin/python3
distros=("$@")
[[ ${#distros[@]} -gt 0 ]] || read -r -a distros <<< "${ROS_DISTROS:-jazzy humble}"

fail() { echo "make ros-test: $*" >&2; exit 1; }
[[ -x $PY ]] || fail "$PY not found: ROS 2 here is built for Debian's Python"
PYVER=$($PY -c 'import sys; print("python%d.%d" % sys.version_info[:2])')

for distro in "${distros[@]}"; do  # before anything is installed: fail fast without ROS
  [[ -f "$ROS_CACHE/ros2-$distro/install/setup.bash" && -f "$ROS_CACHE/ros2-$distro/.source-sha256" ]] \
    || fail "ROS 2 $distro is not built in $ROS_CACHE/ros2-$distro: run 'make ros' (needs $SHARED_ROS)"
done

# -- Python packages for the node: a venv for /usr/bin/python3, built once per requirement set
pydeps_key=$( (cat "$here/requirements.txt"; echo "$ROS_TORCH"; $PY -VV) | sha256sum | cut -c1-12)
PYDEPS="$ROS_CACHE/pydeps-$pydeps_key"
mkdir -p "$ROS_CACHE"
(
  flock 9
  if [[ ! -f "$PYDEPS/.complete" ]]; then
    t0=$(date +%s)
    echo ">> python packages for the ROS node: $ROS_TORCH + tools/ros/requirements.txt into $PYDEPS"
    rm -rf "$PYDEPS"
    $PY -m venv --system-site-packages "$PYDEPS"
    "$PYDEPS/bin/pip" install -q --disable-pip-version-check --only-binary :all: \
      "$ROS_TORCH" -r "$here/requirements.txt" 2>&1 | grep -v ' is ignored: it is neither' || true
    "$PYDEPS/bin/python" -c 'import torch, cv2, numpy, rosbags' \
      || fail "installing the node's Python packages into $PYDEPS failed (see above; without" \
              "/opt/wheels set ROS_TORCH, e.g. ROS_TORCH=torch==2.14.1, PyPI's CUDA build)"
    touch "$PYDEPS/.complete"
    echo "   done in $(( $(date +%s) - t0 )) s ($(du -sh "$PYDEPS" | cut -f1))"
  fi
) 9> "$ROS_CACHE/.pydeps.lock"
PYDEPS_SITE=$("$PYDEPS/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')

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
  case "$distro" in
    jazzy) env_sh=env.sh ;;
    humble) env_sh=env-humble.sh ;;
    *) fail "unknown distro '$distro': use jazzy and/or humble" ;;
  esac
  install="$ROS_CACHE/ros2-$distro"
  [[ -f "$install/install/setup.bash" && -f "$install/.source-sha256" ]] \
    || fail "ROS 2 $distro is not built in $install: run 'make ros' (needs $SHARED_ROS)"
  [[ -f "$SHARED_ROS/$env_sh" ]] || fail "$SHARED_ROS/$env_sh not found (see 'make ros')"
  ws="$repo/.ros/$distro"
  mkdir -p "$ws"
  domain=${ROS_DOMAIN_ID:-$(( $(printf '%s' "$repo:$distro" | cksum | cut -d' ' -f1) % 100 + 100 ))}
  echo ">> ros-test $distro: colcon build of grasp_classifier_ros into $ws (overlay on $install)"
  t0=$(date +%s)
  set +e
  (
    set -e
    set +u  # ROS setup scripts read unset variables
    # shellcheck disable=SC1090
    source "$SHARED_ROS/$env_sh" "$install"
    cd "$ws"
    rm -rf build/grasp_classifier_ros install/grasp_classifier_ros
    # The ament linters the lint tests call; Humble's minimal closure lacks ament_flake8 and
    # ament_pep257: build them here from the same source tarball (pure Python, seconds).
    pkgs=(grasp_classifier_ros) paths=("$repo")
    for lint in ament_flake8 ament_pep257 ament_copyright; do
      [[ -d "$install/install/lib/$PYVER/site-packages/$lint" ]] && continue
      [[ -d "lint_src/ament_lint/$lint" ]] \
        || tar -xzf "$SHARED_ROS/ros2-$distro-min-src.tar.gz" --strip-components=1 \
             -C "$(mkdir -p lint_src && echo lint_src)" "src/ament_lint/$lint"
      pkgs+=("$lint") paths+=("lint_src/ament_lint/$lint")
    done
    # colcon's setuptools commands must be importable by setup.py (as in the ROS build)
    PYTHONPATH="$PYTHONPATH:$install/colcon_pkgs" "$install/bin/colcon" --log-base log build \
      --base-paths "${paths[@]}" --packages-select "${pkgs[@]}" \
      --build-base build --install-base install > colcon.log 2>&1 \
      || { cat colcon.log; echo "make ros-test: colcon build failed under $distro" >&2; exit 1; }
    t1=$(date +%s)
    echo "   built ${pkgs[*]} in $(( t1 - t0 )) s; running: ${tests[*]}"
    # shellcheck disable=SC1091
    source "$ws/install/setup.bash"
    export PYTHONPATH="$PYTHONPATH:$PYDEPS_SITE:$here"
    export ROS_DOMAIN_ID=$domain ROS_LOG_DIR="$ws/ros_log" ROS_TEST_COUNTS="$ws/counts.json"
    export PYTHONDONTWRITEBYTECODE=1
    rm -f "$ROS_TEST_COUNTS"
    cd "$repo"
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
