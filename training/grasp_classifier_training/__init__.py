# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Offline training, calibration, export and evaluation for grasp_classifier_ros.

Entry point: the ``grasp-train`` command (``grasp_classifier_training.cli``).
"""

__version__ = '0.1.0'
