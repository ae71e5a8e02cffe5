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
Install grasp_classifier_ros as an ament_python package (colcon) or with pip.

Only the ``grasp_classifier_ros`` package and its subpackages (``core``: the
ROS-free pipeline; ``ros``: the rclpy adapter; ``bag``: offline bag tools) are
installed; training code, tests and tools stay in the source tree. Launch
files, parameter files and the shipped model go to ``share/grasp_classifier_ros``
where the node and the launch file look them up.
"""

from glob import glob
import os

from setuptools import setup

PACKAGE = 'grasp_classifier_ros'
SUBPACKAGES = ('core', 'ros', 'bag')
HERE = os.path.dirname(os.path.abspath(__file__))


def share_files(pattern: str) -> list[str]:
    """Return the regular files matching ``pattern`` (relative to this file), sorted."""
    found = glob(os.path.join(HERE, pattern))
    return sorted(os.path.relpath(p, HERE) for p in found if os.path.isfile(p))


DATA_FILES = [
    ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
    (f'share/{PACKAGE}', ['package.xml']),
    (f'share/{PACKAGE}/launch', share_files('launch/*.launch.py')),
    (f'share/{PACKAGE}/config', share_files('config/*.yaml')),
    (f'share/{PACKAGE}/models', share_files('models/*')),
]

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=[PACKAGE, *(f'{PACKAGE}.{sub}' for sub in SUBPACKAGES)],
    package_data={f'{PACKAGE}.bag': ['msg_defs/*.msg']},
    data_files=DATA_FILES,
    python_requires='>=3.10',
    install_requires=[
        'setuptools',
        'numpy',
        'opencv-python-headless',
        'torch',
        'pyyaml',
        'rosbags>=0.10',
    ],
    zip_safe=False,
    maintainer='grasp_classifier_ros maintainers',
    maintainer_email='maintainers@grasp-classifier-ros.invalid',
    description='Real-time grasp success classifier for hand-camera images (ROS 2 node + tools).',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            f'grasp_classifier_node = {PACKAGE}.ros.node:main',
            f'evaluate_bag = {PACKAGE}.bag.evaluate_bag:main',
            f'make_bag = {PACKAGE}.bag.make_bag:main',
        ],
    },
)
