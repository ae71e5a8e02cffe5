# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ROS-free core: decode, preprocess, infer, decide; parameters and the frame pipeline."""
