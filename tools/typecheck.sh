#!/usr/bin/env bash
# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# Type-check grasp_classifier_ros, the node included, against rclpy's real
# Python API. rclpy's sources come from PyPI's rclpy-intellisense (a copy of
# rclpy humble's Python files), installed into .typecheck/site -- never into
# the test venv, where an importable fake rclpy would break the ROS skips.
# Message packages it lacks are our typed stubs in typings/. Config: [mypy] in
# setup.cfg. Exits non-zero on any type error.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
SITE=.typecheck/site
STUBS=.typecheck/stubs
RCLPY_STUB_PACKAGE=rclpy-intellisense==1.2.0
TYPE_STUB_PACKAGES=(types-PyYAML types-tqdm)
# The ROS tests cannot run without ROS; the type check at least holds their rclpy calls
# to the real API.
TARGETS=(grasp_classifier_ros test/ros/test_node_ros.py test/ros/test_launch_ros.py)
compgen -G 'examples/*.py' >/dev/null && TARGETS+=(examples)

if [[ ! -f "$SITE/rclpy/node.py" || ! -d "$SITE/yaml-stubs" || ! -d "$SITE/tqdm-stubs" ]]; then
    echo ">> installing $RCLPY_STUB_PACKAGE ${TYPE_STUB_PACKAGES[*]} into $SITE (type checking only)"
    "$PY" -m pip install -q --no-deps --upgrade --target "$SITE" \
        "$RCLPY_STUB_PACKAGE" "${TYPE_STUB_PACKAGES[@]}"
fi
# mypy finds PEP 561 '<name>-stubs' packages only in site-packages: expose them by name.
mkdir -p "$STUBS"
for stub in "$SITE"/*-stubs; do
    ln -sfn "../site/$(basename "$stub")" "$STUBS/$(basename "$stub" -stubs)"
done

echo ">> mypy $(${PY} -m mypy --version | cut -d' ' -f2) on: ${TARGETS[*]}"
echo "   rclpy API from: $SITE/rclpy ($RCLPY_STUB_PACKAGE, ROS 2 humble sources)"
echo "   message stubs:  typings/ ($(cd typings && ls -d */ | tr -d / | tr '\n' ' '))"
exec "$PY" -m mypy --config-file setup.cfg "${TARGETS[@]}"
