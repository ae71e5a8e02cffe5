# Copyright 2026 The grasp_classifier_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
#
# SPDX-License-Identifier: Apache-2.0
"""
Only the rclpy adapter (and its frame intake) imports ROS; everything else runs without it.

Two independent checks: a syntax-tree scan of every module's imports, and a
real import of each module in a fresh interpreter followed by a look at
``sys.modules``. ``ros/adapter.py`` is the node, ``ros/intake.py`` its frame thread;
``ros/node.py`` (the executable's ``main``) imports ROS only when it runs, so it imports
cleanly without ROS and its ``main`` explains in one line what is missing.
"""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path
import subprocess
import sys

import pytest

PKG_DIR = Path(__file__).resolve().parent.parent / 'grasp_classifier_ros'
ROS_MODULES = {
    'rclpy',
    'rcl_interfaces',
    'sensor_msgs',
    'std_msgs',
    'std_srvs',
    'vision_msgs',
    'diagnostic_msgs',
    'diagnostic_updater',
    'builtin_interfaces',
    'launch',
    'launch_ros',
    'cv_bridge',
}
# modules allowed to import ROS: the node, its executable and its frame intake thread
ROS_ADAPTERS = {'ros.node', 'ros.adapter', 'ros.intake'}
NODE = 'ros.node'
ADAPTER = 'ros.adapter'


def _module_name(path: Path) -> str:
    """Dotted name below the package: ``core/pipeline.py`` -> ``core.pipeline``."""
    parts = path.relative_to(PKG_DIR).with_suffix('').parts
    return '.'.join(p for p in parts if p != '__init__')


CORE = sorted(
    name
    for name in map(_module_name, PKG_DIR.rglob('*.py'))
    if name and name not in ROS_ADAPTERS  # '' is the top-level __init__
)
ROS_AVAILABLE = importlib.util.find_spec('rclpy') is not None


def _imported_top_levels(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name.split('.')[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split('.')[0])
    return names


def test_core_list_is_not_empty() -> None:
    assert {
        'core.pipeline',
        'core.params',
        'core.decision',
        'ros.conversions',
        'core.paths',
    } <= set(CORE)


def _path(module: str) -> Path:
    base = PKG_DIR.joinpath(*module.split('.'))
    return base / '__init__.py' if base.is_dir() else base.with_suffix('.py')


@pytest.mark.parametrize('module', CORE)
def test_core_source_imports_no_ros(module: str) -> None:
    found = _imported_top_levels(_path(module)) & ROS_MODULES
    assert not found, f'{module} imports ROS packages {sorted(found)}'


def test_adapter_is_the_ros_node() -> None:
    assert {'rclpy', 'vision_msgs', 'diagnostic_updater'} <= _imported_top_levels(_path(ADAPTER))


_PROBE = """
import importlib, json, sys
ros = set(json.loads(sys.argv[1]))
out = {}
for module in json.loads(sys.argv[2]):
    importlib.import_module('grasp_classifier_ros.' + module)
    out[module] = sorted(m for m in sys.modules if m.split('.')[0] in ros)
print(json.dumps(out))
"""


@pytest.fixture(scope='module')
def ros_loaded_by() -> dict[str, list[str]]:
    """Import the modules one by one in a fresh interpreter; ROS modules loaded after each."""
    modules = [*CORE, NODE]  # node.py imports ROS only when main() runs
    proc = subprocess.run(
        [sys.executable, '-c', _PROBE, json.dumps(sorted(ROS_MODULES)), json.dumps(modules)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize('module', [*CORE, NODE])
def test_import_loads_no_ros(module: str, ros_loaded_by) -> None:
    assert ros_loaded_by[module] == []


@pytest.mark.skipif(ROS_AVAILABLE, reason='ROS 2 is installed: main would start the node')
def test_main_without_ros_explains_and_exits_2() -> None:
    proc = subprocess.run(
        [sys.executable, '-m', 'grasp_classifier_ros.ros.node'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ''
    assert proc.stderr.splitlines() == [
        'ROS 2 (rclpy) is not installed: source /opt/ros/<distro>/setup.bash; '
        'for ROS-free evaluation use evaluate_bag'
    ]


def test_missing_message_package_is_named() -> None:
    from grasp_classifier_ros.ros import node

    err = ImportError("No module named 'vision_msgs'", name='vision_msgs.msg')
    text = node.missing_ros_message(err)
    if ROS_AVAILABLE:
        assert text.startswith("ROS 2 package 'vision_msgs' is not installed")
        assert 'ros-$ROS_DISTRO-vision-msgs' in text
    else:  # without rclpy the root cause is ROS itself
        assert text == node.NO_ROS_MESSAGE
    assert node.missing_ros_message(ImportError('x', name='rclpy')) == node.NO_ROS_MESSAGE
