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
"""The torch version check: refuse what the node was never tested with, in one line."""

from __future__ import annotations

from grasp_classifier_ros.core.torch_version import MIN_TORCH, torch_version_problem
import pytest
import torch


@pytest.mark.parametrize('version', ['1.8.1', '1.13.1+cpu', '2.1.2', '2.12.0a0+git', 'unknown'])
def test_old_or_unreadable_versions_are_refused_naming_the_fix(version: str) -> None:
    problem = torch_version_problem(version)
    assert problem is not None and '\n' not in problem
    assert problem.startswith(f'torch {version} is too old: grasp_classifier_ros needs torch >= ')
    assert "pip install 'torch>=2.13'" in problem


@pytest.mark.parametrize('version', ['2.13.0+cpu', '2.14.1', '2.20.0', '3.0.0'])
def test_tested_and_newer_versions_pass(version: str) -> None:
    assert torch_version_problem(version) is None


def test_the_installed_torch_passes() -> None:
    assert MIN_TORCH == (2, 13)
    assert torch_version_problem(torch.__version__) is None
