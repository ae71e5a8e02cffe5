#!/usr/bin/env bash
# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# Build (or reuse) the minimal ROS 2 distros from ../shared/ros2 into a cache outside the repo.
#
#   tools/ros/build.sh [DISTRO ...]     (default: $ROS_DISTROS, else "jazzy humble")
#
# Each distro lives in $ROS_CACHE/ros2-<distro> (default ROS_CACHE:
# ${XDG_CACHE_HOME:-$HOME/.cache}/grasp_classifier_ros), keyed by the sha256 of its source
# tarball: a changed tarball rebuilds, an unchanged one is reused in a second. A lock per
# distro makes a second concurrent `make ros` wait instead of building over the first.
# SHARED_ROS points at the folder holding the tarballs and build scripts (default ../shared/ros2).
# SKIP_APT=1 skips the apt-get step of the build scripts (their Debian packages must be present).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SHARED_ROS=$(realpath -m "${SHARED_ROS:-$repo/../shared/ros2}")
ROS_CACHE=$(realpath -m "${ROS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/grasp_classifier_ros}")
distros=("$@")
[[ ${#distros[@]} -gt 0 ]] || read -r -a distros <<< "${ROS_DISTROS:-jazzy humble}"

if [[ ! -d "$SHARED_ROS" ]]; then
  echo "make ros: $SHARED_ROS not found: it holds the ROS 2 source tarballs and build scripts;" \
       "set SHARED_ROS=/path/to/shared/ros2 (see README, 'Real ROS 2')" >&2
  exit 2
fi

# The build scripts were written for Debian 12, whose python3-empy is 3.3.4. Debian 13 ships
# empy 4, which rosidl cannot use: put empy 3.3.4 into Debian python's /usr/local site folder,
# which comes before /usr/lib/python3/dist-packages on its sys.path. Untested on Debian 13
# itself (this machine kind is Debian 12); empy 3.3.4 was checked to import and expand
# templates under Python 3.13.
prepare_debian13() {
  [[ -f /etc/debian_version && $(cut -d. -f1 /etc/debian_version) == 13 ]] || return 0
  if ! /usr/bin/python3 -c 'import em, sys; sys.exit(not em.__version__.startswith("3."))' 2>/dev/null; then
    local site
    site=$(/usr/bin/python3 -c 'import site; print(next(p for p in site.getsitepackages() if p.startswith("/usr/local/")))')
    echo ">> Debian 13: installing empy 3.3.4 for /usr/bin/python3 into $site (rosidl needs empy 3)"
    /usr/bin/python3 -m pip --version >/dev/null 2>&1 \
      || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-pip; }
    /usr/bin/python3 -m pip install -q --no-deps --upgrade --target "$site" 'empy==3.3.4'
  fi
}

# colcon prints "Starting >>> pkg" / "Finished <<< pkg [time]": show those with a counter.
progress() {
  awk '/^building [0-9]+ packages/ { total = $2; print; fflush(); next }
       /^Finished <<</ { done++; printf "[%d/%s] %s\n", done, total ? total : "?", $0; fflush(); next }
       /^(Failed|Aborted) +<<<|^colcon build:/ { print; fflush() }'
}

for distro in "${distros[@]}"; do
  case "$distro" in
    jazzy)  script=build_ros2_min.sh ;;
    humble) script=build_ros2_humble_min.sh ;;
    *) echo "make ros: unknown distro '$distro': use jazzy and/or humble (ROS_DISTROS=\"jazzy humble\")" >&2
       exit 2 ;;
  esac
  tarball="$SHARED_ROS/ros2-$distro-min-src.tar.gz"
  [[ -f "$tarball" && -f "$SHARED_ROS/$script" ]] || {
    echo "make ros: $tarball or $SHARED_ROS/$script is missing" >&2; exit 2; }
  dest="$ROS_CACHE/ros2-$distro"
  mkdir -p "$ROS_CACHE"
  exec 9> "$ROS_CACHE/.ros2-$distro.lock"
  if ! flock -n 9; then
    echo ">> ros2-$distro: another build holds $ROS_CACHE/.ros2-$distro.lock; waiting for it"
    flock 9
  fi
  t0=$(date +%s)
  sha=$(sha256sum "$tarball" | cut -c1-64)
  if [[ -f "$dest/install/setup.bash" && "$(cat "$dest/.source-sha256" 2>/dev/null)" == "$sha" ]]; then
    echo ">> ros2-$distro: cached in $dest (source sha256 ${sha:0:12}; checked in $(( $(date +%s) - t0 )) s)"
    exec 9>&-
    continue
  fi
  echo ">> ros2-$distro: building from $(basename "$tarball") (sha256 ${sha:0:12}) into $dest"
  echo "   about 9-11 min on a quiet 2-core machine, 25+ min under load; log: $dest/logs/build.log"
  prepare_debian13
  rm -rf "$dest"
  mkdir -p "$dest/logs"
  if ! SRC_TARBALL="$tarball" bash "$SHARED_ROS/$script" "$dest" 2>&1 \
       | tee "$dest/logs/build.log" | progress; then
    echo "make ros: building ros2-$distro failed; see $dest/logs/build.log" >&2
    exit 1
  fi
  grep -q '^colcon build:' "$dest/logs/build.log" || {
    echo "make ros: building ros2-$distro failed; see $dest/logs/build.log" >&2; exit 1; }
  rm -rf "$dest/build" "$dest/src"   # 200+ MB of intermediates; the install tree is what is used
  echo "$sha" > "$dest/.source-sha256"
  echo ">> ros2-$distro: built in $(( $(date +%s) - t0 )) s ($(du -sh "$dest/install" | cut -f1) install tree)"
  exec 9>&-
done
