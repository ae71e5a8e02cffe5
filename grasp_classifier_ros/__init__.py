# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ROS-free core and ROS 2 node of the grasp success classifier."""

__version__ = '0.1.0'
