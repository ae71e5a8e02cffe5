# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# Shared by tools/ros/test.sh (make ros-test) and tools/ros/bench.sh (make ros-bench); source
# it, do not run it. Sets: here, repo, SHARED_ROS, ROS_CACHE, ROS_TORCH, PY, PYVER, PYDEPS_SITE
# (after ros_pydeps) and defines
#   ros_check_built DISTRO ...   fail fast when a minimal ROS 2 build is missing
#   ros_pydeps                   the venv of the node's Python packages (built once, cached)
#   ros_overlay DISTRO           in a subshell: source ROS, colcon-build this package into
#                                .ros/<distro>/ and source that overlay, set ROS_DOMAIN_ID,
#                                ROS_LOG_DIR and PYTHONPATH (ROS, then the pydeps, then tools/ros)
# Callers define fail() first (their own prefix) and run with set -euo pipefail.
# Environment: ROS_CACHE, SHARED_ROS (as build.sh), ROS_TORCH (default torch==2.13.0+cpu),
# ROS_DOMAIN_ID (default: derived from this checkout and the distro).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SHARED_ROS=$(realpath -m "${SHARED_ROS:-$repo/../shared/ros2}")
ROS_CACHE=$(realpath -m "${ROS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/grasp_classifier_ros}")
ROS_TORCH=${ROS_TORCH:-torch==2.13.0+cpu}
PY=/usr/bin/python3

[[ -x $PY ]] || fail "$PY not found: ROS 2 here is built for Debian's Python"
PYVER=$($PY -c 'import sys; print("python%d.%d" % sys.version_info[:2])')

ros_check_built() {  # before anything is installed: fail fast without ROS
  local distro
  for distro in "$@"; do
    [[ -f "$ROS_CACHE/ros2-$distro/install/setup.bash" && -f "$ROS_CACHE/ros2-$distro/.source-sha256" ]] \
      || fail "ROS 2 $distro is not built in $ROS_CACHE/ros2-$distro: run 'make ros' (needs $SHARED_ROS)"
  done
}

# -- Python packages for the node: a venv for /usr/bin/python3, built once per requirement set
ros_pydeps() {
  local pydeps_key
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
}

# -- ROS 2 sourced, this package built into the overlay .ros/<distro>/ and sourced. Run it in a
# subshell: it changes the environment and the working directory (ends in $repo). Prints
# "built ... in N s" on success.
ros_overlay() {
  local distro=$1 env_sh install ws t0 lint pkgs paths
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
  t0=$(date +%s)
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
    || { cat colcon.log; fail "colcon build failed under $distro"; }
  echo "   built ${pkgs[*]} in $(( $(date +%s) - t0 )) s"
  # shellcheck disable=SC1091
  source "$ws/install/setup.bash"
  export PYTHONPATH="$PYTHONPATH:$PYDEPS_SITE:$here"
  export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-$(( $(printf '%s' "$repo:$distro" | cksum | cut -d' ' -f1) % 100 + 100 ))}
  export ROS_LOG_DIR="$ws/ros_log" PYTHONDONTWRITEBYTECODE=1
  cd "$repo"
}
