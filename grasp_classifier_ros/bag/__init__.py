# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Offline tools without ROS: rosbag2 IO, labels, replay, reports, evaluate_bag, make_bag."""
