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
Launch the grasp classifier node.

Usage::

    ros2 launch grasp_classifier_ros classify.launch.py \
        image_topic:=/hand_camera/image_raw threshold:=0.6 namespace:=left_hand

Arguments left empty do not override anything: the value comes from
``params_file`` if given, else the parameter's default (see README). Outputs are
relative topics (``grasp/success``, ...), so ``namespace`` moves them under
``/<namespace>/grasp/...``. ``lifecycle:=true`` starts the managed variant (a
``LifecycleNode``: configure, then activate it, e.g. from a lifecycle manager).
"""

import os

from ament_index_python.packages import get_package_share_directory
from grasp_classifier_ros.ros import launch_args
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch_ros.actions import LifecycleNode, Node


def _node(context, *args, **kwargs):
    config = context.launch_configurations
    installed = os.path.join(
        get_package_share_directory('grasp_classifier_ros'), 'config', 'classifier.yaml'
    )
    parameters: list = [launch_args.params_file(config, installed)]
    overrides = launch_args.node_overrides(config)
    if overrides:
        parameters.append(overrides)  # after the file: explicit arguments win
    common = {
        'package': 'grasp_classifier_ros',
        'executable': 'grasp_classifier_node',
        'name': 'grasp_classifier',
        'parameters': parameters,
        'ros_arguments': launch_args.ros_arguments(config),
        'output': 'screen',
        'emulate_tty': True,
    }
    namespace = config['namespace'].strip()
    if launch_args.lifecycle(config):
        return [LifecycleNode(namespace=namespace, arguments=['--lifecycle'], **common)]
    return [Node(namespace=namespace or None, **common)]


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                'model',
                default_value='',
                description='TorchScript model file (.pt); empty = the shipped model.',
            ),
            DeclareLaunchArgument(
                'image_topic',
                default_value='',
                description='Camera topic; empty = parameter default /camera/image_raw.',
            ),
            DeclareLaunchArgument(
                'compressed',
                default_value='',
                choices=['', 'true', 'false'],
                description='Subscribe to sensor_msgs/CompressedImage; empty = false.',
            ),
            DeclareLaunchArgument(
                'device',
                default_value='',
                description='auto | cpu | cuda | cuda:N; empty = auto.',
            ),
            DeclareLaunchArgument(
                'threshold',
                default_value='',
                description="Success threshold 0..1; empty or -1 = the model's own.",
            ),
            DeclareLaunchArgument(
                'namespace',
                default_value='',
                description='Namespace for the node and its grasp/* topics.',
            ),
            DeclareLaunchArgument(
                'params_file',
                default_value='',
                description='YAML parameter file; empty = the installed config/classifier.yaml.',
            ),
            DeclareLaunchArgument(
                'lifecycle',
                default_value='false',
                choices=['true', 'false'],
                description='Start a managed (lifecycle) node: unconfigured until a lifecycle '
                'manager configures and activates it.',
            ),
            DeclareLaunchArgument(
                'log_level',
                default_value='info',
                choices=['debug', 'info', 'warn', 'error', 'fatal'],
                description='Node log level.',
            ),
            OpaqueFunction(function=_node),
        ]
    )
