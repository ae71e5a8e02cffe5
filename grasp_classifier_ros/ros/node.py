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
The ROS 2 node: a thin rclpy adapter around the ROS-free ``Pipeline``.

Topics (relative, so a launch ``namespace`` moves them; remap like any topic):

* in: ``image_topic`` parameter (sensor_msgs/Image, or CompressedImage with
  ``compressed:=true``), sensor-data QoS by default;
* out: ``grasp/success`` (std_msgs/Bool), ``grasp/confidence`` (std_msgs/Float32,
  calibrated success probability of the frame), ``grasp/result``
  (vision_msgs/Classification, header = the input image's), ``grasp/label_info``
  (vision_msgs/LabelInfo, latched), ``~/debug_image`` (sensor_msgs/Image, only
  while subscribed) and ``/diagnostics``;
* service ``~/check`` (std_srvs/Trigger): verdict over the next ``check_frames``
  fresh frames.

This is the only module that imports rclpy. It stays importable without ROS so
``main`` can say what is missing instead of failing with a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
import importlib
import importlib.util
from pathlib import Path
import sys
import threading
from typing import Any, TYPE_CHECKING, TypeVar
import warnings

from .conversions import (
    bgr8_image_msg,
    classification_msg,
    diagnostic_values,
    explain_incompatible_qos,
    from_ros_value,
    label_info_msg,
    make_descriptor,
    ros_default,
)
from .overlay import draw_overlay
from ..core import params as param_specs
from ..core.configure import apply_params, build_pipeline, reload_model
from ..core.errors import GraspClassifierError, ParameterError
from ..core.interfaces import (
    CHECK_SERVICE,
    CONFIDENCE,
    DEBUG_IMAGE,
    input_kind,
    LABEL_INFO,
    RESULT,
    SUCCESS,
)
from ..core.model import LoadedModel
from ..core.params import Params
from ..core.pipeline import FrameResult, NewestFrameWorker
from ..core.stats import assess

try:
    from diagnostic_msgs.msg import DiagnosticStatus
    from diagnostic_updater import DiagnosticStatusWrapper, Updater
    from rcl_interfaces.msg import (
        FloatingPointRange,
        IntegerRange,
        ParameterDescriptor,
        SetParametersResult,
    )
    import rclpy
    from rclpy.callback_groups import ReentrantCallbackGroup
    from rclpy.exceptions import (
        InvalidParameterTypeException,
        InvalidParameterValueException,
    )
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import (
        DurabilityPolicy,
        HistoryPolicy,
        qos_policy_name_from_kind,
        QoSProfile,
        ReliabilityPolicy,
    )

    if TYPE_CHECKING:  # humble's module: the API the type check reads
        from rclpy.qos_event import QoSRequestedIncompatibleQoSInfo, SubscriptionEventCallbacks
    else:
        try:  # Iron and newer; there rclpy.qos_event is a deprecated alias
            from rclpy.event_handler import (
                QoSRequestedIncompatibleQoSInfo,
                SubscriptionEventCallbacks,
            )
        except ImportError:
            from rclpy.qos_event import QoSRequestedIncompatibleQoSInfo, SubscriptionEventCallbacks
    from sensor_msgs.msg import Image
    from std_msgs.msg import Bool, Float32, Header
    from std_srvs.srv import Trigger
    from vision_msgs.msg import Classification, LabelInfo, ObjectHypothesis, VisionClass
except ImportError as exc:  # no sourced ROS 2: main() explains, nothing else runs
    ROS_IMPORT_ERROR: ImportError | None = exc
    Node = object  # type: ignore[misc,assignment]
else:
    ROS_IMPORT_ERROR = None

NODE_NAME = 'grasp_classifier'
NO_ROS_MESSAGE = (
    'ROS 2 (rclpy) is not installed: source /opt/ros/<distro>/setup.bash; '
    'for ROS-free evaluation use evaluate_bag'
)
MODEL_PARAMS = frozenset({'model_path', 'model_sha256'})
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # grasp_classifier_ros/
T = TypeVar('T')
EXECUTOR_THREADS = 4
DEBUG_POLL_S = 1.0


class GraspClassifierNode(Node):
    """Subscribe to the camera, classify the newest frame, publish verdicts."""

    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        self._params_lock = threading.Lock()
        self._qos_incompatibilities: list[str] = []
        self.worker: NewestFrameWorker | None = None
        try:
            self.params = self._declare_parameters()
            self.pipeline = self._logging_warnings(lambda: build_pipeline(self.params))
        except GraspClassifierError as exc:
            self.get_logger().fatal(f'refusing to start: {exc}')
            self.destroy_node()
            raise

        self.pub_success = self.create_publisher(Bool, SUCCESS.topic, 10)
        self.pub_confidence = self.create_publisher(Float32, CONFIDENCE.topic, 10)
        self.pub_result = self.create_publisher(Classification, RESULT.topic, 10)
        latched = QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=1,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL,
        )
        self.pub_label_info = self.create_publisher(LabelInfo, LABEL_INFO.topic, latched)
        self.pub_debug = self.create_publisher(Image, DEBUG_IMAGE.topic, 1)
        # Polled at 1 Hz, not per frame: counting subscribers is an rcl call per result.
        self.debug_timer = self.create_timer(DEBUG_POLL_S, self._update_debug_wanted)
        self._publish_label_info()

        self.worker = NewestFrameWorker(self.pipeline, self._on_result, clock_ns=self.now_ns)
        self.worker.start()
        self.subscription = self._subscribe(self.params)
        self.check_service = self.create_service(
            Trigger, CHECK_SERVICE, self._on_check, callback_group=ReentrantCallbackGroup()
        )
        self.diagnostics = Updater(self)
        self.diagnostics.setHardwareID(f'grasp_classifier:{self.pipeline.model.device}')
        self.diagnostics.add('grasp classifier', self._diagnose)
        self._warn_unknown_overrides()  # after diagnostic_updater declared its parameters
        # Last: declaring parameters (ours and diagnostic_updater's) must not run it.
        self.add_on_set_parameters_callback(self._on_set_parameters)
        model = self.pipeline.model
        p = self.params
        self.get_logger().info(
            f"classifying '{p.image_topic}' "
            f'({input_kind(p.compressed).msg_type}, '
            f'{p.qos_reliability}, depth {p.qos_depth}) with '
            f'{model.model_id} on {model.device}, threshold {self.pipeline.threshold:.3f}, '
            f'classes {list(model.metadata.class_names)}'
        )

    # -- clocks -------------------------------------------------------------------------------

    def now_ns(self) -> int:
        """Return the node clock in nanoseconds (ROS time: follows use_sim_time)."""
        return int(self.get_clock().now().nanoseconds)

    # -- parameters ---------------------------------------------------------------------------

    def _declare_parameters(self) -> Params:
        """Declare every parameter of ``params.PARAMETERS``; return them validated."""
        raw: dict[str, Any] = {}
        for spec in param_specs.PARAMETERS:
            descriptor = make_descriptor(
                spec, ParameterDescriptor, FloatingPointRange, IntegerRange
            )
            try:
                declared = self.declare_parameter(spec.name, ros_default(spec), descriptor)
            except InvalidParameterTypeException as exc:
                given = self._override_value(spec.name)
                hint = ' (write 1.0, not 1)' if spec.ros_type in ('double', 'double_array') else ''
                raise ParameterError(
                    spec.name, given, f'must be of type {spec.ros_type}{hint}'
                ) from exc
            except InvalidParameterValueException as exc:
                given = self._override_value(spec.name)
                raise ParameterError(spec.name, given, str(exc)) from exc
            raw[spec.name] = from_ros_value(declared.value)
        return param_specs.validate_all(raw)

    def _override_value(self, name: str) -> Any:
        overrides = getattr(self, '_parameter_overrides', {})
        return from_ros_value(overrides[name].value) if name in overrides else None

    def _warn_unknown_overrides(self) -> None:
        """Warn about parameters given at startup that nothing declares (typos)."""
        overrides = getattr(self, '_parameter_overrides', {})
        unknown = sorted(n for n in overrides if not self.has_parameter(n))
        if unknown:
            self.get_logger().warning(
                f'ignoring unknown parameters {unknown} (known: {", ".join(param_specs.SPECS)})'
            )

    def _logging_warnings(self, fn: Callable[[], T]) -> T:
        """Run ``fn``; log the warnings our package raises (e.g. CUDA fallback) as ROS warnings."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            result = fn()
        for w in caught:
            if PACKAGE_DIR in Path(w.filename).resolve().parents:
                self.get_logger().warning(str(w.message))
            else:  # third-party warnings keep their usual route
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        return result

    def _reload_model(self, params: Params) -> LoadedModel:
        """Load the model ``params`` name, then swap; on failure raise and keep the old one."""
        return self._logging_warnings(lambda: reload_model(self.pipeline, params))

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """
        Validate a parameter change; apply it all or nothing.

        A new ``model_path``/``model_sha256`` loads the model first and swaps it
        in only on success; on failure the change is rejected and the old model
        keeps serving.
        """
        with self._params_lock:
            ours = {
                p.name: from_ros_value(p.value)
                for p in parameters
                if p.name in param_specs.SPECS  # others: use_sim_time, diagnostic_updater.*
            }
            try:
                params = self.params.updated(ours)
            except ParameterError as exc:
                return SetParametersResult(successful=False, reason=str(exc))
            if not ours:
                return SetParametersResult(successful=True)
            if MODEL_PARAMS & ours.keys():  # even the same path: the file may have been replaced
                try:
                    model = self._reload_model(params)
                except GraspClassifierError as exc:
                    self.get_logger().error(f'model change rejected, keeping the old model: {exc}')
                    return SetParametersResult(successful=False, reason=str(exc))
                self.get_logger().info(f'now serving {model.model_id} on {model.device}')
            apply_params(self.pipeline, params)
            self.params = params
            self._publish_label_info()
            return SetParametersResult(successful=True)

    # -- input --------------------------------------------------------------------------------

    def _subscribe(self, params: Params) -> Any:
        reliability = (
            ReliabilityPolicy.RELIABLE
            if params.qos_reliability == 'reliable'
            else ReliabilityPolicy.BEST_EFFORT
        )
        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=params.qos_depth,
            reliability=reliability,
            durability=DurabilityPolicy.VOLATILE,
        )
        msg_class = message_class(input_kind(params.compressed).msg_type)
        events = SubscriptionEventCallbacks(incompatible_qos=self._on_incompatible_qos)
        return self.create_subscription(
            msg_class, params.image_topic, self._on_image, qos, event_callbacks=events
        )

    def _on_image(self, msg: Any) -> None:
        if self.worker is not None:
            self.worker.submit(msg, self.now_ns())

    def _on_incompatible_qos(self, event: QoSRequestedIncompatibleQoSInfo) -> None:
        topic = self.subscription.topic_name
        offered = [
            info.qos_profile.reliability.name for info in self.get_publishers_info_by_topic(topic)
        ]
        text = explain_incompatible_qos(
            topic,
            qos_policy_name_from_kind(event.last_policy_kind),
            self.params.qos_reliability,
            offered,
        )
        self._qos_incompatibilities.append(text)
        self.get_logger().error(text)

    @property
    def qos_incompatibilities(self) -> list[str]:
        """Explanations logged for incompatible publishers so far (oldest first)."""
        return list(self._qos_incompatibilities)

    # -- output -------------------------------------------------------------------------------

    def _update_debug_wanted(self) -> None:
        """Keep frame previews only while the debug image is enabled and subscribed."""
        self.pipeline.keep_previews(
            self.params.publish_debug_image and self.pub_debug.get_subscription_count() > 0
        )

    def _on_result(self, result: FrameResult) -> None:
        """Publish one processed frame (runs on the worker thread)."""
        if result.preview is not None:  # only kept while _update_debug_wanted says so
            overlay = draw_overlay(result.preview, result, self.pipeline.roi)
            self.pub_debug.publish(bgr8_image_msg(Image, result.header, overlay))
        if result.decision is None:
            if result.error:
                self.get_logger().warning(
                    f'frame skipped ({result.status}): {result.error}', throttle_duration_sec=5.0
                )
            return
        self.pub_success.publish(Bool(data=bool(result.decision.success)))
        self.pub_confidence.publish(Float32(data=float(result.decision.probability)))
        if result.probabilities is not None:
            self.pub_result.publish(
                classification_msg(
                    Classification,
                    ObjectHypothesis,
                    result.header,
                    self.pipeline.metadata.class_names,
                    result.probabilities.tolist(),
                )
            )

    def _publish_label_info(self) -> None:
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id='')
        self.pub_label_info.publish(
            label_info_msg(
                LabelInfo,
                VisionClass,
                header,
                self.pipeline.metadata.class_names,
                self.pipeline.threshold,
            )
        )

    # -- service and diagnostics --------------------------------------------------------------

    def _on_check(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        """Answer ``~/check`` from the next ``check_frames`` fresh frames (blocks this thread)."""
        outcome = self.pipeline.run_check(
            self.params.check_frames, self.params.check_timeout, self.now_ns()
        )
        response.success = bool(outcome.success)
        response.message = outcome.message
        return response

    def _diagnose(self, stat: DiagnosticStatusWrapper) -> DiagnosticStatusWrapper:
        snapshot = self.pipeline.snapshot(self.now_ns())
        level, message = assess(snapshot, self.params.camera_timeout)
        if self._qos_incompatibilities and level != 'ERROR':
            level, message = 'ERROR', self._qos_incompatibilities[-1]
        stat.summary(getattr(DiagnosticStatus, level), message)
        model = self.pipeline.model
        for key, value in diagnostic_values(
            snapshot,
            device=str(model.device),
            model_id=model.model_id,
            threshold=self.pipeline.threshold,
        ):
            stat.add(key, value)
        return stat

    # -- lifecycle ----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the inference thread (call before destroy_node)."""
        if self.worker is not None:
            self.worker.stop()


def message_class(msg_type: str) -> Any:
    """Return the rclpy message class of a type name (``sensor_msgs/msg/Image``)."""
    package, kind, name = msg_type.split('/')
    return getattr(importlib.import_module(f'{package}.{kind}'), name)


def missing_ros_message(exc: ImportError) -> str:
    """Return the one-line explanation for a failed ROS import."""
    top = (exc.name or '').split('.')[0]
    if top and top != 'rclpy' and importlib.util.find_spec('rclpy') is not None:
        return (
            f"ROS 2 package '{top}' is not installed: "
            f'apt install ros-$ROS_DISTRO-{top.replace("_", "-")} '
            '(or rosdep install --from-paths src --ignore-src)'
        )
    return NO_ROS_MESSAGE


def _spin(node: GraspClassifierNode, executor_factory: Callable[[], Any]) -> None:
    executor = executor_factory()
    executor.add_node(node)
    try:
        executor.spin()
    finally:
        executor.shutdown()


def main(args: list[str] | None = None) -> int:
    """Run the node until Ctrl-C; return 2 without ROS, 1 on a configuration fault."""
    if ROS_IMPORT_ERROR is not None:
        print(missing_ros_message(ROS_IMPORT_ERROR), file=sys.stderr)
        return 2
    rclpy.init(args=args)
    try:
        try:
            node = GraspClassifierNode()
        except GraspClassifierError:
            return 1  # the node logged why
        try:
            _spin(node, lambda: MultiThreadedExecutor(num_threads=EXECUTOR_THREADS))
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        finally:
            node.shutdown()
            node.destroy_node()
        return 0
    finally:
        rclpy.try_shutdown()


if __name__ == '__main__':
    sys.exit(main())
