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
launch_testing: start the installed node through classify.launch.py and talk to it.

Needs a sourced ROS 2 with launch_testing and this package built by colcon
(``colcon build && source install/setup.bash``); elsewhere it reports one
skipped test. No module-level skip: launch_testing's pytest plugin imports
every test module while collecting, and a skip raised there would skip the
whole directory.
"""

from __future__ import annotations

from pathlib import Path
import tempfile
import time
import unittest

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
NS = '/launch_test'
TIMEOUT = 30.0  # includes model load in a fresh process

try:
    from ament_index_python.packages import get_package_share_directory
    from launch import LaunchDescription
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    import launch_testing
    import launch_testing.actions
    import launch_testing.asserts
    import rclpy
    from rclpy.node import Node
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Bool, Header
    from std_srvs.srv import Trigger
    from vision_msgs.msg import LabelInfo

    SHARE = Path(get_package_share_directory('grasp_classifier_ros'))
    SKIP_REASON = ''
except ImportError as exc:
    SKIP_REASON = f'ROS 2 launch_testing not available ({exc}): source a ROS 2 install'
except LookupError:
    SKIP_REASON = (
        'grasp_classifier_ros is not installed: colcon build && source install/setup.bash'
    )


if SKIP_REASON:

    def test_launch_ros() -> None:
        pytest.skip(SKIP_REASON)

else:
    from grasp_classifier_ros.ros.conversions import bgr8_image_msg
    from model_factory import write_model

    @pytest.mark.launch_test
    def generate_test_description():
        model = write_model(Path(tempfile.mkdtemp()) / 'model.pt')
        include = IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(SHARE / 'launch' / 'classify.launch.py')),
            launch_arguments={
                'model': str(model),
                'device': 'cpu',
                'namespace': NS.strip('/'),
                'image_topic': f'{NS}/camera/image_raw',
            }.items(),
        )
        return LaunchDescription([include, launch_testing.actions.ReadyToTest()])

    class TestRunningNode(unittest.TestCase):
        node: Node

        @classmethod
        def setUpClass(cls) -> None:
            rclpy.init()
            cls.node = rclpy.create_node('launch_test_probe')

        @classmethod
        def tearDownClass(cls) -> None:
            cls.node.destroy_node()
            rclpy.shutdown()

        def spin_until(self, predicate, what: str):
            end = time.monotonic() + TIMEOUT
            while time.monotonic() < end:
                rclpy.spin_once(self.node, timeout_sec=0.05)
                result = predicate()
                if result:
                    return result
            self.fail(f'timed out waiting for {what}')

        def test_label_info_is_latched(self) -> None:
            qos = QoSProfile(
                history=HistoryPolicy.KEEP_LAST,
                depth=1,
                reliability=ReliabilityPolicy.RELIABLE,
                durability=DurabilityPolicy.TRANSIENT_LOCAL,
            )
            got: list = []
            self.node.create_subscription(LabelInfo, f'{NS}/grasp/label_info', got.append, qos)
            info = self.spin_until(lambda: got and got[-1], 'grasp/label_info')
            self.assertEqual([c.class_name for c in info.class_map], ['failure', 'success'])

        def test_frames_yield_a_verdict(self) -> None:
            got: list = []
            self.node.create_subscription(Bool, f'{NS}/grasp/success', got.append, 10)
            pub = self.node.create_publisher(Image, f'{NS}/camera/image_raw', 10)

            def publish_and_look():
                header = Header(stamp=self.node.get_clock().now().to_msg(), frame_id='cam')
                pub.publish(bgr8_image_msg(Image, header, np.full((48, 64, 3), 230, np.uint8)))
                time.sleep(0.02)
                return got

            self.spin_until(publish_and_look, 'grasp/success')
            self.assertIs(got[-1].data, True)

        def test_check_service_answers(self) -> None:
            client = self.node.create_client(Trigger, f'{NS}/grasp_classifier/check')
            self.assertTrue(client.wait_for_service(timeout_sec=TIMEOUT))
            future = client.call_async(Trigger.Request())
            response = self.spin_until(lambda: future.done() and future.result(), '~/check')
            self.assertIsInstance(response.message, str)
            self.assertTrue(response.message)

    @launch_testing.post_shutdown_test()
    class TestShutdown(unittest.TestCase):
        def test_clean_exit(self, proc_info) -> None:
            launch_testing.asserts.assertExitCodes(proc_info)  # EXIT_OK only: SIGINT is handled
