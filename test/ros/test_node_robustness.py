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
The node under real rclpy, in process: reloads, QoS recovery, shutdown, logging, lifecycle.

Uses the harness of the node tests (test/ros/node_harness.py). Each test reproduces a
defect of issue 10 that a read of rclpy/diagnostic_updater or a real run found. Runs
where ROS 2 is sourced (``make ros-test``); skips elsewhere.
"""

from __future__ import annotations

import threading
import time

import pytest
import torch
from torch import nn

try:
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from grasp_classifier_ros.core.errors import ParameterError
    from grasp_classifier_ros.core.model import file_sha256, load_model
    from grasp_classifier_ros.ros.adapter import MAX_PENDING_CHECKS
    from model_factory import brightness_metadata, SlowModel, write_model
    from node_harness import BRIGHT, Harness, ros, wait_for
    from rcl_interfaces.msg import Log
    from rcl_interfaces.srv import SetParameters, SetParametersAtomically
    import rclpy
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter
    from rclpy.qos import ReliabilityPolicy
    from std_srvs.srv import Trigger
    from vision_msgs.msg import Classification
except ImportError as exc:  # not where ROS 2 is sourced
    pytest.skip(
        f'ROS 2 (rclpy) not installed ({exc}): make ros-test runs these', allow_module_level=True
    )

__all__ = ['Harness', 'ros']  # the fixture is used by name
WORKER_THREAD = 'grasp-inference'


class BrightFrameError(nn.Module):
    """Raises on bright input (mean > 0.9), like a model with a latent runtime fault."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(x.float().mean() > 0.9):
            raise RuntimeError('test model refuses bright frames')
        return torch.zeros(x.shape[0], 2)


def newest_status(arrays: list, ns: str) -> DiagnosticStatus | None:
    """Return the newest diagnostic status of the node in namespace ``ns`` (fully qualified)."""
    for array in reversed(arrays):
        for status in array.status:
            if status.name == f'{ns}/grasp_classifier: grasp classifier':
                return status
    return None


def wait_for_status(
    ros, arrays: list, level: int, text: str = '', publish=None
) -> DiagnosticStatus:
    """Wait for a diagnostic status of ``level`` containing ``text``; ``publish()`` meanwhile."""

    def found() -> DiagnosticStatus | None:
        status = newest_status(arrays, ros.ns)
        return status if status and status.level == level and text in status.message else None

    end = time.monotonic() + 10.0  # diagnostics publish at 1 Hz
    while time.monotonic() < end:
        if publish is not None:
            publish()
        status = found()
        if status:
            return status
        time.sleep(0.02)
    newest = newest_status(arrays, ros.ns)
    pytest.fail(f'no level {level!r} status with {text!r}; newest: {newest}')


def test_model_reload_stalls_neither_frames_nor_diagnostics_nor_check(ros, tmp_path) -> None:
    ros.start(warmup_runs=3)
    results = ros.listen(Classification, 'grasp/result')
    arrays = ros.listen(DiagnosticArray, '/diagnostics')
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0, what='node subscription')
    ros.publish_until(pub, BRIGHT, lambda: results)
    slow = write_model(tmp_path / 'slow.pt', SlowModel())  # ~1 s a run: 4 runs to load
    # As `ros2 param set` does: through the node's parameter service, on its executor.
    client = ros.helper.create_client(SetParameters, f'{ros.ns}/grasp_classifier/set_parameters')
    check = ros.helper.create_client(Trigger, f'{ros.ns}/grasp_classifier/check')
    assert client.wait_for_service(timeout_sec=10) and check.wait_for_service(timeout_sec=10)
    request = SetParameters.Request(
        parameters=[Parameter('model_path', value=str(slow)).to_parameter_msg()]
    )
    before, arrays_before = len(results), len(arrays)
    start = time.monotonic()
    future = client.call_async(request)
    answered: list[float] = []
    check_future = check.call_async(Trigger.Request())
    check_future.add_done_callback(lambda _: answered.append(time.monotonic()))
    ros.publish_until(pub, BRIGHT, future.done)
    reload_s = time.monotonic() - start
    during = len(results) - before
    assert future.result().results[0].successful, future.result().results[0].reason
    assert reload_s > 2.0, f'the reload took only {reload_s:.2f} s: too short to tell'
    # Frames every 20 ms: the old model keeps answering meanwhile ...
    assert during >= 10 * reload_s, f'{during} results during a {reload_s:.1f} s reload'
    # ... diagnostics keep their 1 Hz (their timer is not in the parameter services' group) ...
    assert len(arrays) - arrays_before >= int(reload_s) - 1, (len(arrays), arrays_before)
    # ... and ~/check, called as the reload began, is answered from frames long before its end.
    assert answered and answered[0] - start < reload_s - 1.0, (answered, reload_s)
    assert check_future.result().message.startswith('grasp holds'), check_future.result()


def test_without_frames_the_qos_explanation_is_the_diagnosis(ros) -> None:
    node = ros.start(qos_reliability='reliable', camera_timeout=0.2)
    arrays = ros.listen(DiagnosticArray, '/diagnostics')
    ros.image_publisher(ReliabilityPolicy.BEST_EFFORT)
    wait_for(lambda: node.qos_incompatibilities, what='incompatible QoS event')
    status = wait_for_status(ros, arrays, DiagnosticStatus.ERROR, 'offers reliability best_effort')
    assert 'qos_reliability:=best_effort' in status.message
    time.sleep(1.5)  # a camera_timeout later it stays the explanation, not "camera stopped"
    assert newest_status(arrays, ros.ns).message == status.message


def test_qos_error_clears_once_compatible_frames_flow(ros) -> None:
    node = ros.start(qos_reliability='reliable')
    arrays = ros.listen(DiagnosticArray, '/diagnostics')
    wrong = ros.image_publisher(ReliabilityPolicy.BEST_EFFORT)
    wait_for(lambda: node.qos_incompatibilities, what='incompatible QoS event')
    wait_for_status(ros, arrays, DiagnosticStatus.ERROR, 'offers reliability best_effort')
    right = ros.image_publisher(ReliabilityPolicy.RELIABLE)
    wait_for(lambda: right.get_subscription_count() > 0)

    def publish() -> None:
        right.publish(ros.frame(BRIGHT))

    # Both kinds matched, compatible frames classified: a warning that still explains.
    status = wait_for_status(ros, arrays, DiagnosticStatus.WARN, 'offers reliability', publish)
    assert 'frames of other publishers are classified' in status.message
    ros.helper.destroy_publisher(wrong)
    wait_for_status(ros, arrays, DiagnosticStatus.OK, 'classifying', publish)


def test_worker_stops_when_the_context_shuts_down(ros) -> None:
    before = {t for t in threading.enumerate() if t.name == WORKER_THREAD}
    ros.start()
    (worker,) = {t for t in threading.enumerate() if t.name == WORKER_THREAD} - before
    rclpy.shutdown(context=ros.context)  # e.g. the launch's SIGINT, before main's cleanup
    deadline = time.monotonic() + 3.0
    while worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not worker.is_alive()


def test_pipeline_errors_reach_rosout(ros, tmp_path) -> None:
    model = write_model(tmp_path / 'raising.pt', BrightFrameError())
    ros.start(model_path=str(model))
    logs = ros.listen(Log, '/rosout')
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0)
    ros.publish_until(pub, 255, lambda: any('frame skipped (error)' in m.msg for m in logs))
    assert any('unexpected error while processing a frame' in m.msg for m in logs), [
        m.msg for m in logs
    ]


def test_unknown_topic_substitution_is_a_parameter_error(ros) -> None:
    with pytest.raises(ParameterError, match='image_topic'):
        ros.start(image_topic='/{camera}/image_raw')
    ros.node = None


def test_node_substitution_in_image_topic(ros) -> None:
    node = ros.start(image_topic='{node}/image')
    assert node.subscription.topic_name == f'{ros.ns}/grasp_classifier/image'


def call(ros, srv_type, name: str, request) -> object:
    """Call the node's service ``name`` (relative to the node) from the helper node."""
    client = ros.helper.create_client(srv_type, f'{ros.ns}/grasp_classifier/{name}')
    try:
        assert client.wait_for_service(timeout_sec=10), name
        future = client.call_async(request)
        return wait_for(future.done, what=f'{name} response') and future.result()
    finally:
        ros.helper.destroy_client(client)


def worker_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == WORKER_THREAD and t.is_alive()}


def test_a_frame_in_flight_when_the_context_shuts_down_is_dropped_quietly(ros, tmp_path) -> None:
    slow = write_model(tmp_path / 'slow.pt', SlowModel(n=400))  # ~0.4 s per frame
    node = ros.start(model_path=str(slow))
    worker = node.worker
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0)
    pub.publish(ros.frame(BRIGHT))
    wait_for(lambda: worker.submitted, what='a frame handed to the inference thread')
    time.sleep(0.05)
    assert worker.processed == 0, 'the frame was not in flight: make SlowModel slower'
    rclpy.shutdown(context=ros.context)  # its publishers become invalid mid-frame
    wait_for(lambda: worker.processed == 1, what='the frame in flight to finish')
    assert worker.callback_errors == 0  # before: 'publisher's context is invalid' traceback


def test_published_class_names_are_those_of_the_model_that_scored_the_frame(ros, tmp_path) -> None:
    node = ros.start()
    results = ros.listen(Classification, 'grasp/result')
    renamed_file = write_model(
        tmp_path / 'renamed.pt', meta=brightness_metadata(class_names=('dropped', 'held'))
    )
    renamed = load_model(renamed_file, device='cpu', warmup_runs=0)
    publish = node.worker.on_result

    def reload_then_publish(result) -> None:  # a reload lands between scoring and publishing
        node.pipeline.swap_model(renamed, node.pipeline.decision)
        publish(result)

    node.worker.on_result = reload_then_publish
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0)
    ros.publish_until(pub, BRIGHT, lambda: results)
    assert [h.class_id for h in results[0].results] == ['failure', 'success']


def test_a_pinned_model_changes_with_both_parameters_in_one_call(ros, tmp_path) -> None:
    old_sha = file_sha256(ros.model)
    node = ros.start(model_sha256=old_sha)
    new = write_model(tmp_path / 'new.pt', meta=brightness_metadata(threshold=0.6))
    new_sha = file_sha256(new)
    # One parameter, as `ros2 param set` sends it: rejected, saying what to do instead.
    lone = SetParameters.Request(
        parameters=[Parameter('model_path', value=str(new)).to_parameter_msg()]
    )
    (result,) = call(ros, SetParameters, 'set_parameters', lone).results
    assert not result.successful
    assert 'model_sha256 pins the model file' in result.reason
    assert f'ros2 service call {ros.ns}/grasp_classifier/set_parameters_atomically' in (
        result.reason
    )
    assert node.pipeline.model.sha256 == old_sha
    both = SetParametersAtomically.Request(
        parameters=[
            Parameter('model_path', value=str(new)).to_parameter_msg(),
            Parameter('model_sha256', value=new_sha).to_parameter_msg(),
        ]
    )
    result = call(ros, SetParametersAtomically, 'set_parameters_atomically', both).result
    assert result.successful, result.reason
    assert node.pipeline.model.sha256 == new_sha
    assert (node.params.model_path, node.params.model_sha256) == (str(new), new_sha)


def test_check_calls_beyond_the_cap_are_refused_at_once(ros) -> None:
    ros.start(check_timeout=1.0)  # no frames: the accepted calls wait out their timeout
    client = ros.helper.create_client(Trigger, f'{ros.ns}/grasp_classifier/check')
    assert client.wait_for_service(timeout_sec=10)
    futures = [client.call_async(Trigger.Request()) for _ in range(MAX_PENDING_CHECKS + 1)]
    wait_for(lambda: all(f.done() for f in futures), what='every ~/check answer')
    messages = sorted(f.result().message for f in futures)
    busy = [m for m in messages if m.startswith('busy:')]
    waited = [m for m in messages if m.startswith('no verdict: no fresh frames within 1 s')]
    assert (len(busy), len(waited)) == (1, MAX_PENDING_CHECKS), messages
    assert 'retry' in busy[0]


def test_node_starts_where_the_middleware_lacks_the_incompatible_qos_event(
    ros, monkeypatch
) -> None:
    """Humble's rclpy raises UnsupportedEventTypeError for a user callback (Jazzy's ignores it)."""
    try:
        from rclpy import event_handler as events

        handler = 'EventHandler'
    except ImportError:  # Humble
        from rclpy import qos_event as events

        handler = 'QoSEventHandler'
    real = getattr(events, handler)
    incompatible = events.QoSSubscriptionEventType.RCL_SUBSCRIPTION_REQUESTED_INCOMPATIBLE_QOS

    class WithoutIncompatibleQos(real):
        def __init__(self, *args, **kwargs) -> None:
            if kwargs.get('event_type') == incompatible:
                raise events.UnsupportedEventTypeError('not supported by this middleware (test)')
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(events, handler, WithoutIncompatibleQos)
    node = ros.start()
    results = ros.listen(Classification, 'grasp/result')
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0)
    ros.publish_until(pub, BRIGHT, lambda: results)
    assert node.subscription.topic_name == f'{ros.ns}/camera/image_raw'


# -- lifecycle ----------------------------------------------------------------------------------


def test_lifecycle_transitions_drive_the_same_steps(ros) -> None:
    success = TransitionCallbackReturn.SUCCESS
    before = worker_threads()
    node = ros.start(lifecycle=True)
    results = ros.listen(Classification, 'grasp/result')
    pub = ros.image_publisher()
    assert node.pipeline is None and node.subscription is None
    assert node.trigger_configure() == success  # loads the model; nothing subscribed yet
    assert node.pipeline is not None
    time.sleep(0.5)
    assert pub.get_subscription_count() == 0
    answer = call(ros, Trigger, 'check', Trigger.Request())
    assert answer.message.startswith('no verdict: the node is not active'), answer.message

    assert node.trigger_activate() == success
    assert node.pipeline.stats.restarts == 1  # activation starts a new stream
    wait_for(lambda: pub.get_subscription_count() > 0, what='the subscription')
    ros.publish_until(pub, BRIGHT, lambda: results)
    assert len(worker_threads() - before) == 1

    assert node.trigger_deactivate() == success  # stops intake and the inference thread
    wait_for(lambda: pub.get_subscription_count() == 0, what='no subscription')
    assert worker_threads() - before == set()
    seen = len(results)
    for _ in range(10):
        pub.publish(ros.frame(BRIGHT))
        time.sleep(0.02)
    time.sleep(0.3)
    assert len(results) == seen

    assert node.trigger_cleanup() == success  # unloads the model
    assert node.pipeline is None
    assert node.trigger_configure() == success
    assert node.trigger_activate() == success
    wait_for(lambda: pub.get_subscription_count() > 0, what='the subscription again')
    ros.publish_until(pub, BRIGHT, lambda: len(results) > seen)


def test_lifecycle_configure_failure_leaves_it_unconfigured(ros, tmp_path) -> None:
    node = ros.start(lifecycle=True, model_path=str(tmp_path / 'missing.pt'))
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert node.pipeline is None
    node.set_parameters([Parameter('model_path', value=str(ros.model))])
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.pipeline.model.path == str(ros.model)
