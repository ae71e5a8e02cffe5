# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""package.xml parses with catkin_pkg (as rosdep/colcon read it) and lists exactly our deps."""

from __future__ import annotations

from pathlib import Path
import re

from catkin_pkg.package import parse_package
import pytest

REPO = Path(__file__).resolve().parent.parent

EXEC_DEPENDS = {
    'rclpy',
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
    'python3-torchvision',
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
