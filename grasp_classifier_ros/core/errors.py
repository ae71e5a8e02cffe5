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
"""Typed errors of the ROS-free core; each message names the thing and the fix."""

from __future__ import annotations


class GraspClassifierError(Exception):
    """Base class of every error the core raises on purpose."""


class ImageConversionError(GraspClassifierError, ValueError):
    """
    An Image/CompressedImage message cannot be turned into pixels.

    The message names the offending field and its value, e.g.
    ``Image.step=100 is smaller than width*bytes_per_pixel=120``.
    """


class ModelLoadError(GraspClassifierError):
    """A model file is missing, corrupt, or does not match its metadata."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"cannot load model '{self.path}': {problem}")


class ChecksumMismatchError(ModelLoadError):
    """A model file's SHA-256 differs from the ``model_sha256`` it is pinned to."""


class MetadataError(GraspClassifierError, ValueError):
    """Model metadata is missing a field or holds an invalid value."""


class ParameterError(GraspClassifierError, ValueError):
    """A parameter value is of the wrong type or out of range."""

    def __init__(self, name: str, value: object, reason: str) -> None:
        self.name = name
        self.value = value
        self.reason = reason
        super().__init__(f"parameter '{name}'={value!r} rejected: {reason}")


class DeviceError(GraspClassifierError):
    """The requested compute device is unavailable and fallback is disabled."""
