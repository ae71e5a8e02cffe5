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
"""Parameters declared once: validation, and no drift of YAML/README from the specs."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
import subprocess
import sys

from grasp_classifier_ros.core import params
from grasp_classifier_ros.core.errors import ParameterError
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_every_spec_is_well_formed():
    names = [p.name for p in params.PARAMETERS]
    assert len(names) == len(set(names))
    for p in params.PARAMETERS:
        assert p.ros_type in params.PARAM_TYPES
        assert p.description.strip()
        # the default itself must pass validation
        assert params.validate(p.name, p.default) == p.default


def test_config_yaml_matches_specs_exactly():
    text = (ROOT / 'config' / 'classifier.yaml').read_text()
    assert text == params.to_yaml(), 'config/classifier.yaml drifted: run `make docs`'
    loaded = yaml.safe_load(text)['/**']['ros__parameters']
    assert loaded == params.defaults()


def test_readme_table_matches_specs_exactly():
    readme = (ROOT / 'README.md').read_text()
    region = readme.split('<!-- params:start -->\n', 1)[1].split('<!-- params:end -->', 1)[0]
    assert region == params.readme_table(), 'README parameter table drifted: run `make docs`'


TOPIC_REASON = (
    'must be a valid ROS topic name, e.g. /camera/image_raw '
    '(substitutions: {node}, {ns}, {namespace})'
)


@pytest.mark.parametrize(
    ('name', 'value', 'reason'),
    [
        ('threshold', 'high', 'must be a number'),
        ('threshold', math.nan, 'must be a finite number'),
        ('threshold', 1.5, 'must be <= 1.0'),
        ('threshold', -0.5, "must be -1 (use the model's) or in 0..1"),
        ('threshold', True, 'must be a number'),
        ('window', 2.5, 'must be an integer'),
        ('window', 0, 'must be >= 1'),
        ('smoothing', 'median', 'must be one of none, ema, vote'),
        ('roi', [0.5, 0.5, 0.6, 0.2], 'x + w and y + h must not exceed 1'),
        ('roi', [0.0, 0.0, 1.0], 'needs exactly four numbers [x, y, w, h] in 0..1'),
        ('roi', [0.0, 0.0, math.inf, 1.0], 'values must be finite numbers'),
        ('roi', 'full', 'must be a list of numbers'),
        ('device', 'gpu', 'must be auto, cpu, cuda or cuda:N'),
        ('model_sha256', 'abc', "must be '' or 64 hex digits"),
        ('image_topic', 'not a topic', TOPIC_REASON),
        ('image_topic', '/{camera}/image_raw', TOPIC_REASON),  # rcl substitutes only the three
        ('compressed', 1, 'must be true or false'),
        ('max_frame_age', -0.1, 'must be >= 0.0'),
        ('qos_reliability', 'system_default', 'must be one of best_effort, reliable'),
    ],
)
def test_invalid_values_rejected_with_reason(name, value, reason):
    with pytest.raises(ParameterError) as err:
        params.validate(name, value)
    assert err.value.name == name
    assert err.value.reason == reason
    assert str(err.value) == f"parameter '{name}'={value!r} rejected: {reason}"


def test_unknown_parameter_rejected():
    with pytest.raises(ParameterError, match='unknown parameter'):
        params.validate('treshold', 0.5)


def test_valid_values_coerced():
    assert params.validate('threshold', 1) == 1.0
    assert isinstance(params.validate('threshold', 1), float)
    assert params.validate('roi', (0, 0, 1, 1)) == [0.0, 0.0, 1.0, 1.0]
    assert params.validate('device', 'cuda:1') == 'cuda:1'
    assert params.validate('threshold', -1) == -1.0


def test_validate_all_fills_defaults_and_does_not_share_lists():
    v = params.validate_all({'window': 7})
    assert v.window == 7 and v.smoothing == 'ema'
    assert v.roi == (0.0, 0.0, 1.0, 1.0)  # a tuple: nothing to share or change
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.window = 8  # type: ignore[misc]
    d = params.defaults()
    d['roi'][0] = 0.5
    assert params.defaults()['roi'] == [0.0, 0.0, 1.0, 1.0]


def test_params_fields_are_the_specs_with_python_types():
    fields = {f.name: f for f in dataclasses.fields(params.Params)}
    assert list(fields) == [p.name for p in params.PARAMETERS]
    python_type = {'bool': bool, 'int': int, 'double': float, 'string': str, 'double_array': tuple}
    defaults = params.Params()
    for p in params.PARAMETERS:
        value = getattr(defaults, p.name)
        assert type(value) is python_type[p.ros_type], p.name
        assert (list(value) if isinstance(value, tuple) else value) == p.default


def test_updated_makes_a_new_params_and_checks_the_batch():
    old = params.validate_all({'device': 'cpu'})
    new = old.updated({'window': 5, 'roi': (0, 0, 0.5, 1), 'device': 'cpu'})
    assert (new.window, new.roi, new.device) == (5, (0.0, 0.0, 0.5, 1.0), 'cpu')
    assert old.window == 3 and old.roi == (0.0, 0.0, 1.0, 1.0)
    with pytest.raises(ParameterError) as err:
        old.updated({'window': 5, 'device': 'cuda'})
    assert (err.value.name, err.value.reason) == (
        'device',
        'is read-only at run time; restart the node to change it',
    )


def test_threshold_rule_is_one_rule_in_the_spec():
    (rule,) = params.SPECS['threshold'].rules
    assert rule == params.Bounds(0.0, 1.0, also=-1.0, meaning="use the model's")
    assert (params.SPECS['threshold'].minimum, params.SPECS['threshold'].maximum) == (-1.0, 1.0)
    assert params.SPECS['threshold'].range_text == '-1.0 or 0.0 .. 1.0'
    assert params.validate('threshold', -1) == params.USE_MODEL_THRESHOLD


@pytest.mark.parametrize(
    ('requested', 'model', 'expected'), [(-1.0, 0.62, 0.62), (0.3, 0.62, 0.3), (0.0, 0.62, 0.0)]
)
def test_resolve_threshold(requested, model, expected):
    assert params.resolve_threshold(requested, model) == expected


def test_spec_module_imports_neither_torch_nor_opencv():
    """The launch file imports it (via ros.launch_args) to check its arguments."""
    probe = (
        'import sys, grasp_classifier_ros.ros.launch_args; '
        "print(sorted(m for m in ('torch', 'cv2', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]'


def test_dynamic_set_is_what_the_node_may_change_at_run_time():
    assert params.DYNAMIC == {
        'model_path',
        'model_sha256',
        'max_pixels',
        'threshold',
        'hysteresis',
        'smoothing',
        'window',
        'max_frame_age',
        'max_future_skew',
        'image_rotation',
        'image_flip',
        'roi',
        'check_frames',
        'check_timeout',
        'camera_timeout',
        'publish_debug_image',
        'min_live_accuracy',
        'capture_policy',
        'capture_every',
        'familiarity_window',
        'familiarity_threshold',
    }
