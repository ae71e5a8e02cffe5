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
The rclpy node end to end, in process (runs where ROS 2 is sourced; skips elsewhere).

Each test gets its own rclpy context, a unique namespace (so topics of
different tests never meet) and a MultiThreadedExecutor spinning the node
under test plus a helper node on a background thread. The model is the
closed-form ``BrightnessModel`` (test/model_factory.py): a flat grey frame of
value v has success probability ``flat_probability(v)``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

try:
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from grasp_classifier_ros.core import interfaces
    from grasp_classifier_ros.core.errors import DeviceError, ModelLoadError, ParameterError
    from model_factory import brightness_metadata, flat_probability, write_model
    from node_harness import BRIGHT, DARK, Harness, LATCHED, ros, TIMEOUT, wait_for
    from rclpy.parameter import Parameter
    from rclpy.qos import ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Bool, Float32
    from std_srvs.srv import Trigger
    from vision_msgs.msg import Classification, LabelInfo
except ImportError as exc:  # not where ROS 2 is sourced
    pytest.skip(
        f'ROS 2 (rclpy) not installed ({exc}): node tests run where ROS 2 is sourced',
        allow_module_level=True,
    )

__all__ = ['Harness', 'ros']  # the fixture is used by name

# -- topics -----------------------------------------------------------------------------------


@pytest.mark.parametrize('compressed', [False, True])
def test_node_serves_the_interface_table(ros, compressed: bool) -> None:
    node = ros.start(compressed=compressed)
    ns = ros.ns
    kind = interfaces.input_kind(compressed)
    image = f'{ns}/camera/image_raw'
    outputs = {
        (
            out.topic.replace('~', f'{ns}/{node.get_name()}')
            if out.topic[0] == '~'
            else f'{ns}/{out.topic}'
        ): out.msg_type
        for out in (*interfaces.RESULTS, interfaces.DEBUG_IMAGE)
    }

    def graph() -> tuple[dict, dict] | None:
        # The middleware's graph cache learns even the node's own entities asynchronously.
        pubs = dict(node.get_publisher_names_and_types_by_node(node.get_name(), ns))
        subs = dict(node.get_subscriber_names_and_types_by_node(node.get_name(), ns))
        return (pubs, subs) if outputs.keys() <= pubs.keys() and image in subs else None

    pubs, subs = wait_for(graph, what='the node in the graph')
    for name, msg_type in outputs.items():
        assert pubs[name] == [msg_type], name
    assert subs[image] == [kind.msg_type]


def test_frame_yields_bool_confidence_and_classification_with_input_header(ros) -> None:
    ros.start()
    results = ros.listen(Classification, 'grasp/result')
    success = ros.listen(Bool, 'grasp/success')
    confidence = ros.listen(Float32, 'grasp/confidence')
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0, what='node subscription')
    # Best-effort delivery may lose the first frames after discovery: keep sending.
    ros.publish_until(
        pub, BRIGHT, lambda: results and success and confidence, frame_id='hand_cam_7'
    )

    result = results[0]
    sent_stamps = {(m.header.stamp.sec, m.header.stamp.nanosec) for m in ros.sent}
    assert result.header.frame_id == 'hand_cam_7'
    assert (result.header.stamp.sec, result.header.stamp.nanosec) in sent_stamps
    p = flat_probability(BRIGHT)
    assert [h.class_id for h in result.results] == ['failure', 'success']
    assert [h.score for h in result.results] == pytest.approx([1 - p, p], abs=1e-5)
    assert success[0].data is True
    assert confidence[0].data == pytest.approx(p, abs=1e-5)


def test_dark_frame_is_a_failure(ros) -> None:
    ros.start()
    success = ros.listen(Bool, 'grasp/success')
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0)
    ros.publish_until(pub, DARK, lambda: success)
    assert success[0].data is False


def test_best_effort_publisher_reaches_default_qos(ros) -> None:
    ros.start()  # default qos_reliability: best_effort
    success = ros.listen(Bool, 'grasp/success')
    pub = ros.image_publisher(ReliabilityPolicy.BEST_EFFORT)
    wait_for(lambda: pub.get_subscription_count() > 0)
    ros.publish_until(pub, BRIGHT, lambda: success)
    assert ros.node.qos_incompatibilities == []


def test_label_info_is_latched(ros) -> None:
    ros.start(threshold=0.6)
    time.sleep(0.2)  # published long before anyone listens
    labels = ros.listen(LabelInfo, 'grasp/label_info', LATCHED)
    wait_for(lambda: labels, what='latched label_info')
    info = labels[-1]
    assert [(c.class_id, c.class_name) for c in info.class_map] == [(0, 'failure'), (1, 'success')]
    assert info.threshold == pytest.approx(0.6)


def test_debug_image_only_while_subscribed(ros) -> None:
    ros.start()
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0)
    success = ros.listen(Bool, 'grasp/success')
    ros.publish_until(pub, BRIGHT, lambda: success)
    assert ros.node.pipeline.previews is False  # nobody watching: no previews kept
    debug = ros.listen(Image, f'{ros.ns}/grasp_classifier/debug_image')
    image = ros.publish_until(pub, BRIGHT, lambda: debug and debug[-1])
    assert image.encoding == 'bgr8'
    assert (image.height, image.width, image.step) == (48, 64, 64 * 3)
    assert image.header.frame_id == 'hand_cam'


def test_diagnostics_report_the_stream(ros) -> None:
    ros.start()
    diagnostics = ros.listen(DiagnosticArray, '/diagnostics')
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0)

    def ours_ok():
        for array in diagnostics:
            for status in array.status:
                # The fully qualified node name: instances in two namespaces stay apart.
                if (
                    status.name == f'{ros.ns}/grasp_classifier: grasp classifier'
                    and status.level == DiagnosticStatus.OK
                ):
                    return status
        return None

    status = ros.publish_until(pub, BRIGHT, ours_ok)
    values = {kv.key: kv.value for kv in status.values}
    assert status.message == 'classifying'
    assert status.hardware_id == f'{ros.ns}/grasp_classifier:cpu'
    assert values['device'] == 'cpu'
    assert values['model'] == ros.node.pipeline.model.model_id
    assert int(values['frames classified']) >= 1


# -- service ----------------------------------------------------------------------------------


def _call_check(ros) -> Any:
    client = ros.helper.create_client(Trigger, f'{ros.ns}/grasp_classifier/check')
    assert client.wait_for_service(timeout_sec=TIMEOUT)
    future = client.call_async(Trigger.Request())
    return future


def test_check_answers_from_fresh_frames(ros) -> None:
    ros.start(check_frames=3, check_timeout=5.0)
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0)
    future = _call_check(ros)
    response = ros.publish_until(pub, BRIGHT, lambda: future.done() and future.result())
    assert response.success is True
    assert response.message.startswith('grasp holds: confidence ')
    assert 'over 3 frames' in response.message


def test_check_without_frames_gives_no_verdict(ros) -> None:
    ros.start(check_frames=2, check_timeout=0.3)
    future = _call_check(ros)
    response = wait_for(lambda: future.done() and future.result(), what='~/check response')
    assert response.success is False
    assert response.message.startswith('no verdict: no fresh frames within 0.3 s')


# -- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('name', 'value', 'reason'),
    [
        ('threshold', 1.5, 'out of range'),  # rclpy's FloatingPointRange check
        ('threshold', -0.5, 'must be -1'),  # our own rule, inside the range
        ('smoothing', 'median', 'must be one of'),
        ('window', 0, 'out of range'),
        ('threshold', 'high', 'Wrong parameter type'),
        ('device', 'cuda', 'read-only'),
    ],
)
def test_bad_parameter_changes_are_rejected_and_change_nothing(ros, name, value, reason) -> None:
    node = ros.start()
    before = node.get_parameter(name).value
    threshold = node.pipeline.threshold
    (result,) = node.set_parameters([Parameter(name, value=value)])
    assert result.successful is False
    assert reason in result.reason
    assert node.get_parameter(name).value == before
    assert node.pipeline.threshold == threshold


def test_dynamic_change_applies_and_republishes_label_info(ros) -> None:
    node = ros.start()
    labels = ros.listen(LabelInfo, 'grasp/label_info', LATCHED)
    wait_for(lambda: labels)
    (result,) = node.set_parameters([Parameter('threshold', value=0.7)])
    assert result.successful, result.reason
    assert node.pipeline.threshold == pytest.approx(0.7)
    wait_for(lambda: labels[-1].threshold == pytest.approx(0.7), what='new label_info')
    result = node.set_parameters_atomically(
        [Parameter('hysteresis', value=0.1), Parameter('roi', value=[0.1, 0.1, 0.5, 0.5])]
    )
    assert result.successful, result.reason
    assert node.pipeline.decider.config.hysteresis == pytest.approx(0.1)
    assert node.pipeline.preprocessor.roi == (0.1, 0.1, 0.5, 0.5)


def test_atomic_batch_with_one_bad_value_changes_nothing(ros) -> None:
    node = ros.start()
    result = node.set_parameters_atomically(
        [Parameter('hysteresis', value=0.2), Parameter('threshold', value=-0.5)]
    )
    assert result.successful is False
    assert node.pipeline.decider.config.hysteresis == pytest.approx(0.05)
    assert node.get_parameter('hysteresis').value == pytest.approx(0.05)


def test_hot_reload_failure_keeps_serving_the_old_model(ros, tmp_path) -> None:
    node = ros.start()
    old = node.pipeline.model
    (result,) = node.set_parameters([Parameter('model_path', value=str(tmp_path / 'nope.pt'))])
    assert result.successful is False
    assert 'does not exist' in result.reason
    assert node.pipeline.model is old
    assert node.get_parameter('model_path').value == str(ros.model)
    success = ros.listen(Bool, 'grasp/success')
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0)
    ros.publish_until(pub, BRIGHT, lambda: success)  # still serving


def test_hot_reload_swaps_model_and_label_info(ros, tmp_path) -> None:
    node = ros.start()
    labels = ros.listen(LabelInfo, 'grasp/label_info', LATCHED)
    new_path = write_model(
        tmp_path / 'other.pt', meta=brightness_metadata(class_names=('dropped', 'held'))
    )
    (result,) = node.set_parameters([Parameter('model_path', value=str(new_path))])
    assert result.successful, result.reason
    assert node.pipeline.model.path == str(new_path)
    wait_for(
        lambda: labels and [c.class_name for c in labels[-1].class_map] == ['dropped', 'held'],
        what='label_info of the new model',
    )


def test_wrong_sha256_rejects_the_reload(ros) -> None:
    node = ros.start()
    old = node.pipeline.model
    (result,) = node.set_parameters([Parameter('model_sha256', value='0' * 64)])
    assert result.successful is False
    assert 'does not match model_sha256' in result.reason
    assert node.pipeline.model is old


# -- QoS --------------------------------------------------------------------------------------


def test_incompatible_qos_is_explained(ros) -> None:
    node = ros.start(qos_reliability='reliable')
    pub = ros.image_publisher(ReliabilityPolicy.BEST_EFFORT)
    texts = wait_for(lambda: node.qos_incompatibilities, what='incompatible QoS event')
    assert 'offers reliability best_effort' in texts[0]
    assert 'this node requests reliable' in texts[0]
    assert 'qos_reliability:=best_effort' in texts[0]
    del pub


# -- startup faults ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('values', 'error', 'text'),
    [
        ({'model_path': '/nonexistent/model.pt'}, ModelLoadError, 'does not exist'),
        ({'threshold': -0.5}, ParameterError, 'threshold'),
        ({'threshold': 1}, ParameterError, 'must be of type double'),  # int for a double
        ({'qos_depth': 0}, ParameterError, 'qos_depth'),
        ({'image_topic': 'bad topic'}, ParameterError, 'image_topic'),
    ],
)
def test_config_faults_refuse_to_start(ros, values, error, text) -> None:
    with pytest.raises(error, match=text):
        ros.start(**values)
    ros.node = None


def test_cuda_without_fallback_refuses_to_start(ros) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip('CUDA is present here')
    with pytest.raises(DeviceError, match='cuda_fallback'):
        ros.start(device='cuda', cuda_fallback=False)
    ros.node = None


def test_main_exits_non_zero_on_a_config_fault(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, '-m', 'grasp_classifier_ros.ros.node', '--ros-args']
        + ['-p', f'model_path:={tmp_path / "missing.pt"}', '-p', 'device:=cpu'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert 'refusing to start' in proc.stdout + proc.stderr
