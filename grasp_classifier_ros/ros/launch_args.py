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
Turn ``classify.launch.py`` arguments (strings) into typed node parameter overrides.

An argument left empty is not passed at all, so a value from ``params_file``
(or the parameter's default) stays in force; a set one is converted to the
parameter's ROS type and validated here, so a typo fails at launch time with
the parameter's own error message instead of a type clash inside the node.
"""

from __future__ import annotations

from collections.abc import Mapping
import os
from typing import Any

import yaml

from ..core.errors import ParameterError
from ..core.params import SPECS, validate

# Launch argument -> node parameter it overrides.
ARG_TO_PARAM: dict[str, str] = {
    'model': 'model_path',
    'image_topic': 'image_topic',
    'compressed': 'compressed',
    'device': 'device',
    'threshold': 'threshold',
}
LOG_LEVELS = ('debug', 'info', 'warn', 'error', 'fatal')
_TRUE = ('true', 'yes', 'on', '1')
_FALSE = ('false', 'no', 'off', '0')


def parse_value(param: str, text: str) -> Any:
    """Convert a launch argument string to the type of node parameter ``param`` and validate it."""
    spec = SPECS[param]
    raw = text.strip()
    value: Any
    try:
        if spec.ros_type == 'bool':
            if raw.lower() not in _TRUE + _FALSE:
                raise ValueError('expected true or false')
            value = raw.lower() in _TRUE
        elif spec.ros_type == 'int':
            value = int(raw)
        elif spec.ros_type == 'double':
            value = float(raw)
        elif spec.ros_type == 'double_array':
            value = yaml.safe_load(raw)
        else:
            value = text
    except (ValueError, yaml.YAMLError) as exc:
        raise ParameterError(param, text, f'cannot read it as {spec.ros_type}: {exc}') from exc
    return validate(param, value)


def node_overrides(config: Mapping[str, str]) -> dict[str, Any]:
    """Return ``{parameter: typed value}`` for every non-empty override argument in ``config``."""
    out: dict[str, Any] = {}
    for arg, param in ARG_TO_PARAM.items():
        text = config.get(arg, '')
        if text.strip():
            out[param] = parse_value(param, text)
    return out


def params_file(config: Mapping[str, str], installed_default: str) -> str:
    """
    Return the parameter file to load: ``params_file`` if given, else ``installed_default``.

    A named file that does not exist fails the launch here (launch_ros would only warn and
    start the node on defaults).
    """
    given = config.get('params_file', '').strip()
    if not given:
        return installed_default
    if not os.path.isfile(given):
        raise FileNotFoundError(
            f"params_file:='{given}' is not a file: name an existing YAML parameter file, "
            'or leave params_file empty for the installed config/classifier.yaml'
        )
    return given


def lifecycle(config: Mapping[str, str]) -> bool:
    """Return whether ``lifecycle:=true`` asks for the managed (lifecycle) node."""
    text = config.get('lifecycle', 'false').strip().lower() or 'false'
    if text not in _TRUE + _FALSE:
        raise ValueError(f"lifecycle:='{text}' must be true or false")
    return text in _TRUE


def ros_arguments(config: Mapping[str, str]) -> list[str]:
    """Return the ``--ros-args`` list for the node (its log level)."""
    level = config.get('log_level', 'info').strip().lower() or 'info'
    if level not in LOG_LEVELS:
        raise ValueError(f"log_level '{level}' is not one of {', '.join(LOG_LEVELS)}")
    return ['--log-level', level]
