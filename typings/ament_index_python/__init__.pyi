# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ament_index_python, typed from its source: package share lookup."""

from ament_index_python.packages import get_package_share_directory as get_package_share_directory
from ament_index_python.packages import PackageNotFoundError as PackageNotFoundError
