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
"""The torch version check: the oldest torch the runtime is tested with, and one clear line."""

from __future__ import annotations

import re

# make ros-test runs torch 2.13, make test 2.14. Distribution packages lag far behind
# (rosdep's python3-torch is 1.13 on Debian 12): install torch with pip.
MIN_TORCH = (2, 13)


def torch_version_problem(version: str) -> str | None:
    """Return why torch ``version`` cannot run the node (naming the fix), or None if it can."""
    found = re.match(r'(\d+)\.(\d+)', str(version))
    if found and (int(found[1]), int(found[2])) >= MIN_TORCH:
        return None
    need = '.'.join(map(str, MIN_TORCH))
    return (
        f'torch {version} is too old: grasp_classifier_ros needs torch >= {need}; '
        f"install it with pip (pip install 'torch>={need}'), not the distribution's "
        'python3-torch'
    )
