# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Typed stub of the vision_msgs ROS 2 interface package (only what this project uses)."""
