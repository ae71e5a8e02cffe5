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
Message and parameter plumbing of the node, checked with real ROS 2 message classes.

The classes come from the rosbags Humble type store (vision_msgs from the
bundled definitions), i.e. the same .msg definitions rclpy generates code from.
"""

from __future__ import annotations

from array import array
from pathlib import Path

from grasp_classifier_ros.core import params
from grasp_classifier_ros.core.image_codec import decode_image
from grasp_classifier_ros.core.params import ParamSpec
from grasp_classifier_ros.ros import conversions as ros_conversions
import numpy as np
import pytest
from rosbags.typesys import get_typestore, Stores
from rosbags.typesys.msg import get_types_from_msg
import yaml

REPO = Path(__file__).resolve().parents[2]
MSG_DEFS = REPO / 'grasp_classifier_ros' / 'bag' / 'msg_defs'


@pytest.fixture(scope='module')
def ts():
    store = get_typestore(Stores.ROS2_HUMBLE)
    types = {}
    for name in ('ObjectHypothesis', 'Classification', 'VisionClass', 'LabelInfo'):
        types.update(
            get_types_from_msg((MSG_DEFS / f'{name}.msg').read_text(), f'vision_msgs/msg/{name}')
        )
    store.register(types)
    return store


def _header(ts, sec: int = 5, nanosec: int = 7, frame_id: str = 'hand_cam'):
    time_cls = ts.types['builtin_interfaces/msg/Time']
    return ts.types['std_msgs/msg/Header'](
        stamp=time_cls(sec=sec, nanosec=nanosec), frame_id=frame_id
    )


def _roundtrip(ts, msg, msgtype: str):
    """Serialise and deserialise: proves every field has the type the definition demands."""
    return ts.deserialize_cdr(ts.serialize_cdr(msg, msgtype), msgtype)


# -- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize('spec', params.PARAMETERS, ids=lambda s: s.name)
def test_ros_default_has_the_python_type_rclpy_infers_from(spec: ParamSpec) -> None:
    value = ros_conversions.ros_default(spec)
    expected = {'bool': bool, 'int': int, 'double': float, 'string': str, 'double_array': list}
    assert type(value) is expected[spec.ros_type]
    if spec.ros_type == 'double_array':
        assert value and all(type(v) is float for v in value)
    assert params.validate(spec.name, value) == spec.default


def test_shipped_yaml_declares_with_the_node_types() -> None:
    """A double written as ``1`` is an integer to rcl and would stop the node from starting."""
    path = REPO / 'config' / 'classifier.yaml'
    values = yaml.safe_load(path.read_text())['/**']['ros__parameters']
    assert set(values) == set(params.SPECS)
    for name, value in values.items():
        want = ros_conversions.ros_default(params.SPECS[name])
        assert type(value) is type(want), name
        if isinstance(want, list):
            assert all(type(v) is float for v in value), name


def test_ros_default_converts_int_literal_of_a_double() -> None:
    spec = ParamSpec('x', 'double', 1, 'd', dynamic=True)
    assert type(ros_conversions.ros_default(spec)) is float
    with pytest.raises(ValueError, match='empty double_array'):
        ros_conversions.ros_default(ParamSpec('y', 'double_array', [], 'd', dynamic=True))


def test_from_ros_value_turns_arrays_into_lists() -> None:
    assert ros_conversions.from_ros_value(array('d', [0.0, 0.5])) == [0.0, 0.5]
    assert type(ros_conversions.from_ros_value(array('d', [1.0]))) is list
    assert ros_conversions.from_ros_value((1.0, 2.0)) == [1.0, 2.0]
    assert ros_conversions.from_ros_value('x') == 'x'


@pytest.mark.parametrize('spec', params.PARAMETERS, ids=lambda s: s.name)
def test_descriptor_for_every_parameter(ts, spec: ParamSpec) -> None:
    descriptor = ros_conversions.make_descriptor(
        spec,
        ts.types['rcl_interfaces/msg/ParameterDescriptor'],
        ts.types['rcl_interfaces/msg/FloatingPointRange'],
        ts.types['rcl_interfaces/msg/IntegerRange'],
    )
    out = _roundtrip(ts, descriptor, 'rcl_interfaces/msg/ParameterDescriptor')
    assert out.name == spec.name
    assert out.description == spec.description
    assert out.read_only is (not spec.dynamic)
    assert out.dynamic_typing is False
    assert out.type == ros_conversions.PARAM_TYPE_IDS[spec.ros_type]
    bounded = spec.minimum is not None and spec.maximum is not None
    if bounded and spec.ros_type == 'double':
        (rng,) = out.floating_point_range
        assert (rng.from_value, rng.to_value, rng.step) == (spec.minimum, spec.maximum, 0.0)
        assert len(out.integer_range) == 0
    elif bounded and spec.ros_type == 'int':
        (rng,) = out.integer_range
        assert (rng.from_value, rng.to_value, rng.step) == (spec.minimum, spec.maximum, spec.step)
        assert rng.step == (90 if spec.name == 'image_rotation' else 0)
        assert len(out.floating_point_range) == 0
    else:
        assert len(out.floating_point_range) == len(out.integer_range) == 0
    if spec.choices:
        assert out.additional_constraints.startswith('one of: ' + ', '.join(spec.choices))
    if spec.name == 'threshold':
        assert out.additional_constraints == "-1 (use the model's) or range 0 .. 1"
    elif spec.name == 'familiarity_threshold':
        assert out.additional_constraints == '0 (off) or range 0.1 .. 100'
    elif bounded:
        assert out.additional_constraints.startswith(f'range {spec.minimum:g} .. {spec.maximum:g}')
    assert ('read-only' in out.additional_constraints) is (not spec.dynamic)


def test_param_type_ids_match_rcl_interfaces(ts) -> None:
    consts = {
        name: value for name, _, value in ts.fielddefs['rcl_interfaces/msg/ParameterType'][0]
    }
    assert ros_conversions.PARAM_TYPE_IDS == {
        'bool': consts['PARAMETER_BOOL'],
        'int': consts['PARAMETER_INTEGER'],
        'double': consts['PARAMETER_DOUBLE'],
        'string': consts['PARAMETER_STRING'],
        'double_array': consts['PARAMETER_DOUBLE_ARRAY'],
    }
    assert set(ros_conversions.PARAM_TYPE_IDS) == set(params.PARAM_TYPES)


def test_diagnostic_levels_match_diagnostic_status(ts) -> None:
    consts = {
        name: value for name, _, value in ts.fielddefs['diagnostic_msgs/msg/DiagnosticStatus'][0]
    }
    assert ros_conversions.DIAGNOSTIC_LEVELS == consts


# -- messages -------------------------------------------------------------------------------


def test_classification_keeps_the_input_header_and_class_order(ts) -> None:
    header = _header(ts)
    msg = ros_conversions.classification_msg(
        ts.types['vision_msgs/msg/Classification'],
        ts.types['vision_msgs/msg/ObjectHypothesis'],
        header,
        ('failure', 'success'),
        np.array([0.25, 0.75], dtype=np.float32),
    )
    out = _roundtrip(ts, msg, 'vision_msgs/msg/Classification')
    assert (out.header.stamp.sec, out.header.stamp.nanosec, out.header.frame_id) == (
        5,
        7,
        'hand_cam',
    )
    assert [(h.class_id, h.score) for h in out.results] == [('failure', 0.25), ('success', 0.75)]
    assert all(type(h.score) is float for h in msg.results)


def test_classification_refuses_mismatched_lengths(ts) -> None:
    with pytest.raises(ValueError):
        ros_conversions.classification_msg(
            ts.types['vision_msgs/msg/Classification'],
            ts.types['vision_msgs/msg/ObjectHypothesis'],
            _header(ts),
            ('failure', 'success'),
            [1.0],
        )


def test_label_info_maps_indices_to_names(ts) -> None:
    msg = ros_conversions.label_info_msg(
        ts.types['vision_msgs/msg/LabelInfo'],
        ts.types['vision_msgs/msg/VisionClass'],
        _header(ts, 1, 0, ''),
        ('failure', 'success'),
        0.6,
    )
    out = _roundtrip(ts, msg, 'vision_msgs/msg/LabelInfo')
    assert [(c.class_id, c.class_name) for c in out.class_map] == [(0, 'failure'), (1, 'success')]
    assert out.threshold == pytest.approx(0.6)
    assert type(msg.threshold) is float


def test_bgr8_image_roundtrips_through_the_decoder(ts) -> None:
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    msg = ros_conversions.bgr8_image_msg(
        ts.types['sensor_msgs/msg/Image'], _header(ts), bgr[:, ::-1]
    )
    assert (msg.height, msg.width, msg.encoding, msg.step, msg.is_bigendian) == (
        7,
        5,
        'bgr8',
        15,
        0,
    )
    assert isinstance(msg.data, array) and msg.data.typecode == 'B'
    decoded = decode_image(msg)
    got = decoded.pixels if decoded.order == 'bgr' else decoded.pixels[..., ::-1]
    np.testing.assert_array_equal(got, bgr[:, ::-1])
    msg.data = np.frombuffer(msg.data.tobytes(), np.uint8)  # what serialisation expects
    out = _roundtrip(ts, msg, 'sensor_msgs/msg/Image')
    assert out.data.tobytes() == np.ascontiguousarray(bgr[:, ::-1]).tobytes()


@pytest.mark.parametrize('bad', [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32)])
def test_bgr8_image_rejects_other_layouts(ts, bad) -> None:
    with pytest.raises(ValueError, match='HxWx3 uint8'):
        ros_conversions.bgr8_image_msg(ts.types['sensor_msgs/msg/Image'], _header(ts), bad)


# -- diagnostics and QoS text ---------------------------------------------------------------


def _snapshot(**over):
    snap = {
        'received': 12,
        'processed': 10,
        'dropped': 2,
        'counts': {'ok': 7, 'stale': 2, 'bad_image': 1},
        'input_rate_hz': 29.97,
        'seconds_since_last_frame': 0.0123,
        'last_frame_age_s': 0.031,
        'latency_ms_p50': 4.5,
        'latency_ms_p95': 9.25,
    }
    snap.update(over)
    return snap


def test_diagnostic_values(ts) -> None:
    values = ros_conversions.diagnostic_values(
        _snapshot(), device='cpu', model_id='grasp_net@abc', threshold=0.5
    )
    assert dict(values) == {
        'input rate (Hz)': '29.97',
        'seconds since last frame': '0.012',
        'last frame age (s)': '0.031',
        'latency p50 (ms)': '4.50',
        'latency p95 (ms)': '9.25',
        'frames received': '12',
        'frames processed': '10',
        'frames classified': '7',
        'frames dropped (newer frame arrived)': '2',
        'frames skipped: stale': '2',
        'frames skipped: future': '0',
        'frames skipped: out_of_order': '0',
        'frames rejected: bad_image': '1',
        'frames rejected: nonfinite': '0',
        'frames rejected: error': '0',
        'device': 'cpu',
        'model': 'grasp_net@abc',
        'threshold': '0.500',
    }
    # Every value must fit diagnostic_msgs/KeyValue (strings only).
    key_value = ts.types['diagnostic_msgs/msg/KeyValue']
    for k, v in values:
        _roundtrip(ts, key_value(key=k, value=v), 'diagnostic_msgs/msg/KeyValue')


def test_diagnostic_values_before_any_frame() -> None:
    snap = _snapshot(
        seconds_since_last_frame=None,
        last_frame_age_s=None,
        latency_ms_p50=float('nan'),
        latency_ms_p95=float('nan'),
        counts={},
    )
    values = dict(
        ros_conversions.diagnostic_values(snap, device='cuda:0', model_id='m', threshold=1)
    )
    assert values['seconds since last frame'] == 'n/a'
    assert values['last frame age (s)'] == 'n/a'
    assert values['latency p95 (ms)'] == 'n/a'
    assert values['frames classified'] == '0'


def test_incompatible_qos_explains_the_fix() -> None:
    text = ros_conversions.explain_incompatible_qos(
        '/camera/image_raw', 'RELIABILITY', 'reliable', ['BEST_EFFORT']
    )
    assert text == (
        "publisher on '/camera/image_raw' is incompatible (policy RELIABILITY): it offers "
        'reliability best_effort, this node requests reliable; no frames will arrive. '
        'Set qos_reliability:=best_effort (accepts reliable and best-effort publishers).'
    )


def test_incompatible_qos_other_policy_has_no_reliability_advice() -> None:
    text = ros_conversions.explain_incompatible_qos('/cam', 'DURABILITY', 'best_effort', [])
    assert 'offers reliability unknown (publisher gone)' in text
    assert 'qos_reliability' not in text
