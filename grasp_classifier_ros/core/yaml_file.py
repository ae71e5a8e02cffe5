# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Read a YAML file that must hold a mapping, with one clear error per failure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def read_mapping(
    path: Path, what: str, error: Callable[[str], Exception] = ValueError
) -> dict[str, Any]:
    """Return the mapping in ``path`` ({} if empty); raise ``error(message)`` naming ``what``."""
    if not path.is_file():
        raise error(f"{what} '{path}' does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise error(f"{what} '{path}' is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(f"{what} '{path}' must be a mapping, got {type(data).__name__}")
    return data
