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
The image-folder conventions make_bag and the training package share.

Image files are recognised by suffix; a file's episode group (video, session)
is the prefix of its stem before the last ``_NN`` (``image_6_12.jpg`` ->
``image_6``); files sort in natural order (``img_2`` before ``img_10``).
"""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any

IMAGE_SUFFIXES = frozenset({'.jpg', '.jpeg', '.png', '.bmp'})
GROUP_REGEX = r'^(?P<group>.+)_\d+$'


def group_of(stem: str, pattern: str = GROUP_REGEX) -> str:
    """Return the group of a file stem: the pattern's ``group`` (or whole match), else the stem."""
    m = re.match(pattern, stem)
    if m is None:
        return stem
    return m.group('group') if 'group' in m.groupdict() else m.group(0)


def natural_key(text: str) -> list[Any]:
    """Sort key putting ``img_2`` before ``img_10``."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r'(\d+)', text)]


def list_images(folder: Path) -> list[Path]:
    """Return the image files directly in ``folder``, in natural order."""
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda p: natural_key(p.name),
    )
