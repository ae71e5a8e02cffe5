# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ROS 2 adapter: the rclpy node (the only ROS import), conversions, launch arguments."""
