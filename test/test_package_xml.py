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
"""package.xml parses with catkin_pkg (as rosdep/colcon read it) and lists exactly our deps."""

from __future__ import annotations

import ast
from pathlib import Path
import re

from catkin_pkg.package import parse_package
import pytest

REPO = Path(__file__).resolve().parent.parent

EXEC_DEPENDS = {
    'rclpy',
    'rcl_interfaces',
    'ament_index_python',
    'sensor_msgs',
    'std_msgs',
    'std_srvs',
    'vision_msgs',
    'diagnostic_msgs',
    'diagnostic_updater',
    'launch',
    'launch_ros',
    'python3-numpy',
    'python3-opencv',
    'python3-torch',
    'python3-yaml',
}
TEST_DEPENDS = {
    'ament_copyright',
    'ament_flake8',
    'ament_pep257',
    'python3-pytest',
    'launch_testing',
    'launch_testing_ros',
    'cv_bridge',
}


@pytest.fixture(scope='module')
def package():
    return parse_package(str(REPO / 'package.xml'))


def test_identity(package) -> None:
    assert package.name == 'grasp_classifier_ros'
    assert package.version == '0.1.0'
    assert package.package_format == 3
    assert [str(lic) for lic in package.licenses] == ['Apache-2.0']
    assert package.get_build_type() == 'ament_python'
    package.validate()  # raises InvalidPackage on a malformed manifest


def test_dependencies_exact(package) -> None:
    assert {d.name for d in package.exec_depends} == EXEC_DEPENDS
    assert {d.name for d in package.test_depends} == TEST_DEPENDS
    assert package.build_depends == []
    assert package.buildtool_depends == []
    assert package.build_export_depends == []


def test_version_matches_setup_and_package() -> None:
    import grasp_classifier_ros

    setup_text = (REPO / 'setup.py').read_text()
    assert re.search(r"version='([^']+)'", setup_text).group(1) == '0.1.0'
    assert grasp_classifier_ros.__version__ == '0.1.0'


def test_resource_marker_exists() -> None:
    marker = REPO / 'resource' / 'grasp_classifier_ros'
    assert marker.is_file()


# ROS packages this package may import (exec_depend names are the package names).
ROS_PACKAGES = {
    'ament_index_python',
    'builtin_interfaces',
    'diagnostic_msgs',
    'diagnostic_updater',
    'launch',
    'launch_ros',
    'lifecycle_msgs',
    'rcl_interfaces',
    'rclpy',
    'sensor_msgs',
    'std_msgs',
    'std_srvs',
    'vision_msgs',
}


def imported_top_level(paths: list[Path]) -> set[str]:
    """Top-level names of every absolute import in ``paths`` (``if TYPE_CHECKING`` included)."""
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split('.')[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split('.')[0])
    return names


def runtime_sources() -> list[Path]:
    """Return the installed package's modules (every subpackage) and the launch file."""
    return sorted((REPO / 'grasp_classifier_ros').rglob('*.py')) + sorted(
        (REPO / 'launch').glob('*.py')
    )


def test_runtime_sources_cover_the_subpackages() -> None:
    names = {p.relative_to(REPO).as_posix() for p in runtime_sources()}
    assert {
        'grasp_classifier_ros/ros/adapter.py',
        'grasp_classifier_ros/core/pipeline.py',
        'launch/classify.launch.py',
    } <= names


def test_declared_dependencies_match_the_imports(package) -> None:
    imported = imported_top_level(runtime_sources())
    declared = {d.name for d in package.exec_depends}
    assert {n for n in declared if not n.startswith('python3-')} == imported & ROS_PACKAGES
    assert ('python3-torchvision' in declared) == ('torchvision' in imported)
    (vision_msgs,) = [d for d in package.exec_depends if d.name == 'vision_msgs']
    assert vision_msgs.version_gte == '4.1.0'  # LabelInfo and VisionClass are 4.1 messages
