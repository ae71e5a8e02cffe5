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
Property-based parameter validation: any value, only ParameterError; batches apply atomically.

Models the node's set-parameters callback: ``Params.updated`` checks the
whole batch, and only then does ``configure.apply_params`` see it, so a
rejected batch leaves the pipeline exactly as it was.
"""

from __future__ import annotations

from array import array
import math
from typing import Any

from grasp_classifier_ros.core import params
from grasp_classifier_ros.core.configure import apply_params, decision_config
from grasp_classifier_ros.core.errors import ParameterError
from grasp_classifier_ros.core.model import load_model
from grasp_classifier_ros.core.params import Params
from grasp_classifier_ros.core.pipeline import Pipeline
from grasp_classifier_ros.core.roi import validate_roi
from hypothesis import given, HealthCheck, settings
from hypothesis import strategies as st
from model_factory import brightness_metadata, write_model
from msg_factory import make_image
import numpy as np
import pytest

S = 1_000_000_000
NAMES = sorted(params.SPECS)
FUZZ = settings(max_examples=300, deadline=None)
TOPIC_REASON = params.TOPIC.why

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63).flatmap(lambda n: st.sampled_from([n, -n, 10**400]))
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=80)
    | st.binary(max_size=16)
    | st.complex_numbers(allow_nan=True)
    | st.sampled_from(['', ' ', '\n', 'nan', 'inf', '-1', 'true', '/cam\n', 'cpu\n', '~'])
)
# Anything a caller could hand over: scalars, nested containers, typed arrays, objects.
ANY_VALUE = (
    st.recursive(
        _scalars,
        lambda inner: (
            st.lists(inner, max_size=6)
            | st.tuples(inner, inner, inner, inner)
            | st.dictionaries(st.text(max_size=4), inner, max_size=3)
            | st.sets(st.integers(), max_size=4)
        ),
        max_leaves=12,
    )
    | st.builds(lambda xs: array('d', xs), st.lists(st.floats(allow_nan=True), max_size=6))
    | st.just(object())
    | st.just(np.float32(0.5))
    | st.just(np.int64(3))
)


def assert_valid(spec: params.ParamSpec, v: Any) -> None:
    """Check an accepted value is of the spec's Python type and inside its rules."""
    if spec.ros_type == 'bool':
        assert type(v) is bool
    elif spec.ros_type == 'int':
        assert type(v) is int and spec.minimum <= v <= spec.maximum
        assert not spec.step or (v - spec.minimum) % spec.step == 0
    elif spec.ros_type == 'double':
        assert isinstance(v, float) and math.isfinite(v) and spec.minimum <= v <= spec.maximum
    elif spec.ros_type == 'string':
        assert type(v) is str
        assert spec.choices is None or v in spec.choices
    else:
        assert type(v) is list and all(type(x) is float and math.isfinite(x) for x in v)
    assert spec.check is None or spec.check(v) is None


def assert_rejected(name: str, value: Any) -> ParameterError:
    with pytest.raises(ParameterError) as err:
        params.validate(name, value)
    e = err.value
    assert e.name == name and isinstance(e.reason, str) and e.reason
    assert str(e).startswith(f"parameter '{name}'=") and str(e).endswith(e.reason)
    return e


@FUZZ
@given(st.sampled_from(NAMES), ANY_VALUE)
def test_any_value_is_accepted_valid_or_rejected_with_parameter_error(name, value):
    try:
        v = params.validate(name, value)
    except ParameterError as e:
        assert e.name == name and e.reason
        return
    assert_valid(params.SPECS[name], v)
    assert params.validate(name, v) == v  # accepted values are a fixed point


def _out_of_range(spec: params.ParamSpec) -> st.SearchStrategy[Any]:
    lo, hi = spec.minimum, spec.maximum
    assert lo is not None and hi is not None
    if spec.ros_type == 'int':
        return st.integers(max_value=int(lo) - 1) | st.integers(min_value=int(hi) + 1)
    return st.floats(max_value=lo, exclude_max=True) | st.floats(min_value=hi, exclude_min=True)


def _invalid(spec: params.ParamSpec) -> st.SearchStrategy[Any]:
    """Values that must be rejected for ``spec``, by construction."""
    nested = st.lists(st.lists(st.floats(0, 1), min_size=1, max_size=2), min_size=1, max_size=4)
    common = st.none() | nested | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
    if spec.ros_type == 'bool':
        return common | st.integers() | st.floats() | st.sampled_from(['true', 'false', ''])
    if spec.ros_type == 'int':
        off_step = (
            st.integers(int(spec.minimum), int(spec.maximum)).filter(
                lambda v: (v - int(spec.minimum)) % spec.step
            )
            if spec.step
            else st.nothing()
        )
        return (
            common
            | off_step
            | st.booleans()
            | st.floats(allow_nan=True)
            | st.text(max_size=5)
            | _out_of_range(spec)
            | st.sampled_from([10**400, -(10**400), 2**63])
        )
    if spec.ros_type == 'double':
        out = (
            common
            | st.booleans()
            | st.text(max_size=5)
            | st.sampled_from([math.nan, math.inf, -math.inf, 10**400, -(10**400)])
            | _out_of_range(spec)
        )
        if spec.name == 'threshold':
            out |= st.floats(-1.0, 0.0, exclude_min=True, exclude_max=True)
        if spec.name == 'familiarity_threshold':  # 0 (off) or 0.1 .. 100
            out |= st.floats(0.0, 0.1, exclude_min=True, exclude_max=True)
        return out
    if spec.ros_type == 'string':
        out = (
            common
            | st.booleans()
            | st.integers()
            | st.floats()
            | st.binary(max_size=4)
            | st.lists(st.text(max_size=3), max_size=2)
        )
        if spec.choices is not None:
            out |= st.text(max_size=12).filter(lambda s: s not in spec.choices)
        elif spec.name == 'device':
            out |= st.text(max_size=8).filter(lambda s: spec.check(s) is not None)
            out |= st.sampled_from(
                ['', 'gpu', 'cpu\n', 'CUDA:0', 'cuda:', 'cuda:-1', 'cuda:\u0663']
            )
        elif spec.name == 'model_sha256':
            out |= st.text(max_size=70).filter(lambda s: s != '' and len(s) != 64)
            out |= st.sampled_from(['a' * 64 + '\n', 'g' * 64, ' ' + 'a' * 63])
        elif spec.name in ('image_topic', 'outcome_topic'):
            out |= st.sampled_from(
                ['', '/', '//cam', '/cam/', '/cam\n', '/0cam', '/cam/0x', '~cam', 'a b', '/c#m']
            )
        return out
    # double_array (roi)
    return (
        common
        | st.booleans()
        | st.text(max_size=5)
        | st.floats()
        | st.lists(st.floats(0, 1), max_size=3)
        | st.lists(st.floats(0, 1), min_size=5, max_size=8)
        | st.lists(st.sampled_from([math.nan, math.inf, -math.inf, 10**400, True]), min_size=4)
        | st.tuples(st.floats(0.5, 0.99), st.just(0.0), st.floats(0.51, 1.0), st.just(1.0))
    )


@FUZZ
@given(st.data())
def test_invalid_values_always_raise_parameter_error_naming_the_parameter(data):
    name = data.draw(st.sampled_from(NAMES))
    assert_rejected(name, data.draw(_invalid(params.SPECS[name])))


def _valid(spec: params.ParamSpec) -> st.SearchStrategy[Any]:
    """Values that must be accepted for ``spec``."""
    if spec.ros_type == 'bool':
        return st.booleans()
    if spec.ros_type == 'int':
        step = spec.step or 1
        n = (int(spec.maximum) - int(spec.minimum)) // step
        return st.integers(0, n).map(lambda k: int(spec.minimum) + k * step)
    if spec.ros_type == 'double':
        if spec.name == 'threshold':
            return st.just(-1.0) | st.just(-1) | st.floats(0.0, 1.0) | st.integers(0, 1)
        if spec.name == 'familiarity_threshold':
            return st.just(0.0) | st.just(0) | st.floats(0.1, 100.0) | st.integers(1, 100)
        return st.floats(spec.minimum, spec.maximum) | st.integers(
            math.ceil(spec.minimum), int(spec.maximum)
        )
    if spec.choices is not None:
        return st.sampled_from(spec.choices)
    if spec.name == 'device':
        return st.sampled_from(['auto', 'cpu', 'cuda']) | st.integers(0, 10**6).map(
            lambda i: f'cuda:{i}'
        )
    if spec.name == 'model_sha256':
        return st.just('') | st.text('0123456789abcdefABCDEF', min_size=64, max_size=64)
    if spec.name in ('image_topic', 'outcome_topic'):
        token = st.from_regex(r'[A-Za-z_][A-Za-z0-9_]{0,6}', fullmatch=True)
        prefix = st.sampled_from(['', '/', '~/'])
        return st.tuples(prefix, st.lists(token, min_size=1, max_size=3)).map(
            lambda t: t[0] + '/'.join(t[1])
        )
    if spec.name in ('model_path', 'capture_dir'):
        return st.text(max_size=40)
    # roi: x, y in [0, 1), w, h in (0, 1 - x], (0, 1 - y]
    corner = st.tuples(
        st.floats(0, 0.9), st.floats(0, 0.9), st.floats(0.01, 1), st.floats(0.01, 1)
    )
    roi = corner.map(lambda r: [r[0], r[1], min(r[2], 1 - r[0]), min(r[3], 1 - r[1])])
    return roi.flatmap(lambda r: st.sampled_from([r, tuple(r), array('d', r)]))


@FUZZ
@given(st.data())
def test_valid_values_accepted_and_coerced(data):
    name = data.draw(st.sampled_from(NAMES))
    value = data.draw(_valid(params.SPECS[name]))
    v = params.validate(name, value)
    assert_valid(params.SPECS[name], v)
    assert v == (list(value) if isinstance(value, (tuple, array)) else value)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=20).filter(lambda s: s not in params.SPECS), ANY_VALUE)
def test_unknown_names_rejected(name, value):
    e = assert_rejected(name, value)
    assert e.reason.startswith('unknown parameter (known: model_path, ')


@pytest.mark.parametrize(
    ('name', 'value', 'reason'),
    [
        ('threshold', 10**400, 'must be a finite number'),  # used to raise OverflowError
        ('hysteresis', -(10**400), 'must be a finite number'),
        ('roi', [10**400, 0, 1, 1], 'values must be finite numbers'),
        (
            'image_topic',
            '/camera/image_raw\n',
            TOPIC_REASON,
        ),
        ('image_topic', '/camera/', TOPIC_REASON),
        ('image_topic', '/camera/0', TOPIC_REASON),
        ('device', 'cpu\n', 'must be auto, cpu, cuda or cuda:N'),
        ('device', 'cuda:\u0663', 'must be auto, cpu, cuda or cuda:N'),  # a non-ASCII digit
        ('model_sha256', 'a' * 64 + '\n', "must be '' or 64 hex digits"),
        ('roi', array('d', [0.0, 0.0, math.nan, 1.0]), 'values must be finite numbers'),
        ('roi', array('u', 'abcd'), 'must be a list of numbers'),
    ],
)
def test_regressions_found_by_fuzzing(name, value, reason):
    assert assert_rejected(name, value).reason == reason


def test_rclpy_style_double_array_accepted():
    # rclpy passes DOUBLE_ARRAY values to set-parameters callbacks as array('d').
    assert params.validate('roi', array('d', [0.25, 0.0, 0.5, 1.0])) == [0.25, 0.0, 0.5, 1.0]
    assert params.validate('image_topic', '~/image/{ns}/raw') == '~/image/{ns}/raw'


@pytest.mark.parametrize('topic', ['{node}/image', '/{namespace}/image', '~/{ns}'])
def test_the_substitutions_rcl_expands_are_accepted(topic):
    assert params.validate('image_topic', topic) == topic


# --- batches: validate everything, then apply atomically ----------------------------------


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp('m') / 'm.pt'
    return load_model(write_model(path, meta=brightness_metadata(16)), device='cpu', warmup_runs=0)


def pipeline_state(pl: Pipeline) -> tuple:
    d = pl.decider
    return (
        pl.decider.config,
        pl.preprocessor.roi,
        pl.max_pixels,
        d._ema,
        tuple(d._history),
        d._state,
        d._last_stamp_ns,
    )


def on_set_parameters(
    pl: Pipeline, current: Params, changes: dict[str, Any]
) -> tuple[str, Params]:
    """Do what the node's callback does: validate the whole batch, then apply it or nothing."""
    try:
        new = current.updated(changes)
    except ParameterError as e:
        return e.name, current
    apply_params(pl, new)
    return '', new


def first_bad(current: Params, changes: dict[str, Any]) -> str:
    for name, value in changes.items():
        try:
            v = params.validate(name, value)
        except ParameterError:
            return name
        if name not in params.DYNAMIC and v != getattr(current, name):  # no read-only arrays
            return name
    return ''


@st.composite
def batches(draw) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    out = {}
    for n in names:
        spec = params.SPECS[n]
        kind = draw(st.sampled_from(['valid', 'valid', 'invalid', 'junk']))
        if kind == 'valid':
            out[n] = draw(_valid(spec))
        elif kind == 'invalid':
            out[n] = draw(_invalid(spec))
        else:
            out[n] = draw(ANY_VALUE)
    return out


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches())
def test_batch_applies_whole_or_leaves_the_pipeline_unchanged(model, changes):
    current = Params()
    pl = Pipeline(model, decision=decision_config(current, model.metadata.threshold))
    # Give the decider some state a wrongly applied batch would visibly reset.
    for i, v in enumerate((250, 240)):
        msg = make_image(np.full((16, 16, 3), v, np.uint8), 'bgr8', stamp_ns=S + i)
        assert pl.process(msg, now_ns=S + i).status == 'ok'
    before = pipeline_state(pl)
    snapshot = current
    rejected, current = on_set_parameters(pl, current, changes)
    assert rejected == first_bad(snapshot, changes)
    if rejected:
        assert pipeline_state(pl) == before and current == snapshot
        return
    v = {**params.defaults(), **{n: params.validate(n, x) for n, x in changes.items()}}
    assert current == params.validate_all(v)
    expected_cfg = decision_config(params.validate_all(v), model.metadata.threshold)
    assert pl.decider.config == expected_cfg
    assert pl.preprocessor.roi == tuple(v['roi']) and pl.max_pixels == v['max_pixels']
    # The new settings serve frames: fresh stamp, so 'ok' unless max_pixels rejects 16x16.
    msg = make_image(np.full((16, 16, 3), 128, np.uint8), 'bgr8', stamp_ns=2 * S)
    r = pl.process(msg, now_ns=2 * S)
    assert r.status == ('ok' if v['max_pixels'] >= 256 else 'bad_image')


def test_read_only_parameter_may_be_set_to_its_current_value_only():
    current = params.validate_all({'device': 'cpu'})
    assert params.validate_changes(current, {'device': 'cpu', 'window': 5}) == {
        'device': 'cpu',
        'window': 5,
    }
    with pytest.raises(ParameterError) as err:
        params.validate_changes(current, {'window': 5, 'device': 'cuda'})
    assert err.value.name == 'device'
    assert err.value.reason == 'is read-only at run time; restart the node to change it'
    with pytest.raises(ParameterError) as err:
        params.validate_changes(current, {'window': 0, 'device': 'cuda'})
    assert (err.value.name, err.value.reason) == ('window', 'must be >= 1')


def test_validate_changes_returns_coerced_values_and_leaves_inputs_alone():
    current = Params()
    changes = {'threshold': 1, 'roi': (0, 0, 1, 1), 'window': 4}
    out = params.validate_changes(current, changes)
    assert out == {'threshold': 1.0, 'roi': [0.0, 0.0, 1.0, 1.0], 'window': 4}
    assert type(out['threshold']) is float
    assert changes == {'threshold': 1, 'roi': (0, 0, 1, 1), 'window': 4}
    assert current == Params()
    validate_roi(out['roi'])
