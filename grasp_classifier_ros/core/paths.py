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
Find files the package ships (the default model) without importing ROS.

Lookup order for ``model_path: ''``: the ament share directory (colcon install,
``ament_index_python`` importable), then ``<sys.prefix>/share`` (a pip-installed
wheel puts ``data_files`` there), then the source tree's ``models/`` (editable
install or a plain checkout). The first existing file wins.
"""

from __future__ import annotations

from pathlib import Path
import sys

PACKAGE = 'grasp_classifier_ros'
MODEL_FILE = 'grasp_classifier.pt'


def _ament_share_dir() -> Path | None:
    """Return the package's ament share directory, or None outside a ROS install."""
    try:
        from ament_index_python.packages import get_package_share_directory
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(PACKAGE))
    except (LookupError, ValueError):  # PackageNotFoundError is a KeyError
        return None


def source_root() -> Path:
    """Return the directory holding the ``grasp_classifier_ros`` package (the repo root)."""
    return Path(__file__).resolve().parents[2]


def candidate_model_paths() -> list[Path]:
    """Return where the shipped model may lie, most preferred first."""
    ament = _ament_share_dir()
    shares = [ament, Path(sys.prefix) / 'share' / PACKAGE]
    found = [s / 'models' / MODEL_FILE for s in shares if s is not None]
    found.append(source_root() / 'models' / MODEL_FILE)
    return list(dict.fromkeys(found))


def default_model_path() -> Path:
    """
    Return the shipped model file: the first candidate that exists.

    When none exists, return the ament share path inside a ROS install, else the
    source tree's path, so the loader's error names where the model was expected.
    """
    candidates = candidate_model_paths()
    for path in candidates:
        if path.is_file():
            return path
    ament = _ament_share_dir()
    if ament is not None:
        return ament / 'models' / MODEL_FILE
    return source_root() / 'models' / MODEL_FILE
