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
The rclpy adapter: one ``ClassifierAdapter`` that both node kinds drive step by step.

Topics (relative, so a launch ``namespace`` moves them; remap like any topic):

* in: ``image_topic`` parameter (sensor_msgs/Image, or CompressedImage with
  ``compressed:=true``), sensor-data QoS by default;
* out: ``grasp/success`` (std_msgs/Bool), ``grasp/confidence`` (std_msgs/Float32,
  calibrated success probability of the frame), ``grasp/result``
  (vision_msgs/Classification, header = the input image's), ``grasp/label_info``
  (vision_msgs/LabelInfo, latched), ``~/debug_image`` (sensor_msgs/Image, only
  while subscribed) and ``/diagnostics``;
* service ``~/check`` (std_srvs/Trigger): verdict over the next ``check_frames``
  fresh frames;
* in: ``outcome_topic`` (std_msgs/Bool, default ``grasp/outcome``): the controller's truth
  per attempt, paired with the last ``~/check`` (``core.outcome``) for the live agreement in
  ``/diagnostics`` and, with ``capture_dir`` set, the self-labelled capture
  (``bag.capture``, its own thread: frames are only handed over, never waited for).

The steps: setup (parameters, diagnostics), configure (load the model, create the
publishers and ``~/check``), activate (start the inference thread, subscribe), deactivate
(unsubscribe, stop the thread, free cached CUDA memory), cleanup (drop the model).
``GraspClassifierNode`` runs setup, configure and activate when constructed;
``GraspClassifierLifecycleNode`` (``lifecycle:=true``) runs setup when constructed and
the rest from its lifecycle transitions.

Frames never pass through the executor: ``intake.FrameIntake`` waits on the image
subscription on a thread of its own and submits each frame to the inference thread.

Executor requirement: timers, ``~/check``, /clock, the parameter services and the frame
subscription's QoS events sit in separate callback groups, so a model hot-reload (load +
warm-up in the parameter service, the default group) never stalls diagnostics, ``~/check``
or sim time (nor frames, which the executor does not carry). That needs a
``MultiThreadedExecutor`` with at least ``EXECUTOR_THREADS`` threads, as ``main`` runs it: at
most ``MAX_PENDING_CHECKS`` ``~/check`` calls wait for frames at a time (more are refused at
once), the default group, the QoS events, the timers and /clock each need one more.

Time: everything runs on the node clock (ROS time, which follows ``use_sim_time``) except
the timers (diagnostics, debug-image polling), which run on the steady clock so diagnostics
also speak before the first /clock message. The clock's jump callback (a jump back, or a
``use_sim_time`` change) restarts the stream (``Pipeline.restart_stream``).
"""

from __future__ import annotations

from collections.abc import Callable
import functools
import importlib
from pathlib import Path
import threading
from typing import Any, TYPE_CHECKING, TypeVar
import warnings

from diagnostic_msgs.msg import DiagnosticStatus
from diagnostic_updater import DiagnosticStatusWrapper, Updater
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType, JumpThreshold, TimeJump
from rclpy.duration import Duration
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    qos_policy_name_from_kind,
    QoSProfile,
    ReliabilityPolicy,
)
from rclpy.time_source import CLOCK_TOPIC
from sensor_msgs.msg import Image
from std_msgs.msg import Bool, Float32, Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Classification, LabelInfo, ObjectHypothesis, VisionClass

from . import log_bridge
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
from .health import (
    incompatible_publishers,
    QosIncident,
    stream_health,
    WAITING_FOR_CLOCK,
    with_familiarity,
)
from .intake import FrameIntake, IntakeCallbackGroup
from .overlay import draw_overlay
from ..core import params as param_specs
from ..core.configure import apply_params, build_pipeline, reload_model, resolve_model_path
from ..core.errors import ChecksumMismatchError, GraspClassifierError, ParameterError
from ..core.familiarity import load_note
from ..core.interfaces import (
    CHECK_SERVICE,
    CONFIDENCE,
    DEBUG_IMAGE,
    input_kind,
    LABEL_INFO,
    RESULT,
    SUCCESS,
)
from ..core.model import JIT_DEPRECATION, LoadedModel, release_cached_memory
from ..core.outcome import OutcomeTracker
from ..core.params import Params
from ..core.pipeline import FrameResult, NewestFrameWorker, Pipeline
from ..core.streams import ClockJump, stamp_jump_message

if TYPE_CHECKING:
    from ..bag.capture import CaptureWriter

if TYPE_CHECKING:  # humble's module: the API the type check reads
    from rclpy.qos_event import (
        QoSRequestedIncompatibleQoSInfo,
        SubscriptionEventCallbacks,
        UnsupportedEventTypeError,
    )
else:
    try:  # Iron and newer; there rclpy.qos_event is a deprecated alias
        from rclpy.event_handler import (
            QoSRequestedIncompatibleQoSInfo,
            SubscriptionEventCallbacks,
            UnsupportedEventTypeError,
        )
    except ImportError:
        from rclpy.qos_event import (
            QoSRequestedIncompatibleQoSInfo,
            SubscriptionEventCallbacks,
            UnsupportedEventTypeError,
        )

NODE_NAME = 'grasp_classifier'
MODEL_PARAMS = frozenset({'model_path', 'model_sha256'})
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # grasp_classifier_ros/
T = TypeVar('T')
MAX_PENDING_CHECKS = 2
# ~/check calls + the default group (parameter and lifecycle services) + the frame
# subscription's QoS events + timers + /clock.
EXECUTOR_THREADS = MAX_PENDING_CHECKS + 4
JUMP_BACK = Duration(nanoseconds=-1)  # any jump back of the node clock starts a new stream
DEBUG_POLL_S = 1.0


if TYPE_CHECKING:  # the node classes below provide rclpy.node.Node's API
    _NodeAPI = Node
else:
    _NodeAPI = object


class ClassifierAdapter(_NodeAPI):
    """
    Parameters, topics, ``~/check`` and diagnostics around a ``Pipeline``, in steps.

    A mixin for ``rclpy.node.Node`` and ``rclpy.lifecycle.LifecycleNode``: the node
    classes below only decide when each step runs.
    """

    # -- setup ----------------------------------------------------------------------------------

    def _setup(self) -> None:
        """Declare and validate the parameters, start diagnostics (raise ParameterError)."""
        self._params_lock = threading.Lock()
        self._qos_incident: QosIncident | None = None
        self._qos_explanations: list[str] = []
        self._check_slots = threading.BoundedSemaphore(MAX_PENDING_CHECKS)
        # the frame subscription is taken by FrameIntake's thread, never by the executor
        self._frames_group = IntakeCallbackGroup()
        self._timers_group = MutuallyExclusiveCallbackGroup()
        self._check_group = ReentrantCallbackGroup()
        self._steady_clock = Clock(clock_type=ClockType.STEADY_TIME)  # for the timers
        self._log_handler: log_bridge.RosLogHandler | None = None
        self.active = False
        self.pipeline: Pipeline | None = None
        self.worker: NewestFrameWorker | None = None
        self.subscription: Any = None
        self.intake: FrameIntake | None = None
        self.debug_timer: Any = None
        self.check_service: Any = None
        self._outputs: dict[str, Any] = {}
        self.outcomes: OutcomeTracker | None = None
        self.outcome_subscription: Any = None
        self.capture: CaptureWriter | None = None

        self.params = self._declare_parameters()
        self._log_handler = log_bridge.attach(self.get_logger())
        self.diagnostics = Updater(self)
        # diagnostic_updater puts its timer in the default group, beside the parameter
        # services a model reload blocks: move it to ours. Names are the fully qualified
        # node name, so instances in different namespaces stay apart in aggregators.
        # On the steady clock: with use_sim_time, a ROS-time timer stays silent until /clock
        # starts, and then ticks at the simulation's pace.
        self.destroy_timer(self.diagnostics.timer)
        self.diagnostics.timer = self.create_timer(
            self.diagnostics.period,
            self.diagnostics.update,
            callback_group=self._timers_group,
            clock=self._steady_clock,
        )
        self.diagnostics.node_name = self.get_fully_qualified_name()
        self.diagnostics.setHardwareID(f'{self.get_fully_qualified_name()}:unconfigured')
        self.diagnostics.add('grasp classifier', self._diagnose)
        self._warn_unknown_overrides()  # after diagnostic_updater declared its parameters
        jumps = JumpThreshold(
            min_forward=None,  # type: ignore[arg-type]  # None: forward jumps are no event
            min_backward=JUMP_BACK,
            on_clock_change=True,  # use_sim_time switched on or off
        )
        self._jump_handle = self.get_clock().create_jump_callback(
            jumps, post_callback=self._on_clock_jump
        )
        # Last: declaring parameters (ours and diagnostic_updater's) must not run it.
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.context.on_shutdown(self.shutdown)

    # -- configure / cleanup ----------------------------------------------------------------------

    def _configure(self) -> None:
        """Load the model, create the publishers and ``~/check`` (raise GraspClassifierError)."""
        params = self.params
        self.get_logger().info(f"loading model '{resolve_model_path(params.model_path)}'")
        self.pipeline = self._logging_warnings(lambda: build_pipeline(params))
        self._log_familiarity(self.pipeline)
        latched = QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=1,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL,
        )
        self._outputs = {
            'success': self.create_publisher(Bool, SUCCESS.topic, 10),
            'confidence': self.create_publisher(Float32, CONFIDENCE.topic, 10),
            'result': self.create_publisher(Classification, RESULT.topic, 10),
            'label_info': self.create_publisher(LabelInfo, LABEL_INFO.topic, latched),
            'debug': self.create_publisher(Image, DEBUG_IMAGE.topic, 1),
        }
        self.check_service = self.create_service(
            Trigger, CHECK_SERVICE, self._on_check, callback_group=self._check_group
        )
        if self.outcomes is None:  # the live agreement outlives deactivate/activate
            self.outcomes = OutcomeTracker(params.outcome_window, params.camera_timeout)
        if params.capture_dir:  # refuse, at once, a capture the node could not write
            self._capture_module()
            self._capture_root()
        self.diagnostics.setHardwareID(
            f'{self.get_fully_qualified_name()}:{self.pipeline.model.device}'
        )

    def _cleanup(self) -> None:
        """Destroy what ``_configure`` made and drop the model."""
        if self.check_service is not None:
            self.destroy_service(self.check_service)
            self.check_service = None
        for publisher in self._outputs.values():
            self.destroy_publisher(publisher)
        self._outputs = {}
        self.pipeline = None
        self.diagnostics.setHardwareID(f'{self.get_fully_qualified_name()}:unconfigured')
        release_cached_memory()

    # -- activate / deactivate --------------------------------------------------------------------

    def _activate(self) -> None:
        """Start the inference thread, subscribe, publish the label info."""
        pipeline = self._configured()
        pipeline.restart_stream(self.now_ns())  # nothing from before the activation holds
        self.worker = NewestFrameWorker(pipeline, self._on_result, clock_ns=self.now_ns).start()
        # Polled at 1 Hz, not per frame: counting subscribers is an rcl call per result.
        self.debug_timer = self.create_timer(
            DEBUG_POLL_S,
            self._update_debug_wanted,
            callback_group=self._timers_group,
            clock=self._steady_clock,
        )
        self.subscription = self._subscribe(self.params)
        if self.params.capture_dir:
            self.capture = self._start_capture(self.params)
        # the timers' group: pairing an outcome is quick and never waits for anything
        self.outcome_subscription = self.create_subscription(
            Bool,
            self.params.outcome_topic,
            self._on_outcome,
            10,
            callback_group=self._timers_group,
        )
        # last: the capture (which _on_image feeds) exists before the first frame is taken
        self.intake = FrameIntake(self.subscription, self._on_image, self.context).start()
        self.active = True
        self._publish_label_info()
        model, p = pipeline.model, self.params
        self.get_logger().info(
            f"classifying '{self.subscription.topic_name}' "
            f'({input_kind(p.compressed).msg_type}, '
            f'{p.qos_reliability}, depth {p.qos_depth}) with '
            f'{model.model_id} on {model.device} ({model.runner.label}), threshold '
            f'{pipeline.threshold:.3f}, '
            f'classes {list(model.metadata.class_names)}'
        )

    def _deactivate(self) -> None:
        """Unsubscribe, stop the inference thread, free cached CUDA memory."""
        self.active = False
        self._stop_intake()
        if self.subscription is not None:
            self.destroy_subscription(self.subscription)
            self.subscription = None
        if self.outcome_subscription is not None:
            self.destroy_subscription(self.outcome_subscription)
            self.outcome_subscription = None
        if self.debug_timer is not None:
            self.destroy_timer(self.debug_timer)
            self.debug_timer = None
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.capture is not None:
            self.capture.stop()  # closes the open bag: readable from here on
            self.capture = None
        if self.pipeline is not None:
            self.pipeline.keep_previews(False)
        self._qos_incident = None
        release_cached_memory()

    def shutdown(self) -> None:
        """Stop the inference thread (before destroy_node; also when the context shuts down)."""
        self.active = False
        self._stop_intake()
        if self.worker is not None:
            self.worker.stop()
        capture = getattr(self, 'capture', None)  # None before _setup ran
        if capture is not None:
            capture.stop()
        if self._log_handler is not None:
            log_bridge.detach(self._log_handler)
            self._log_handler = None

    def _stop_intake(self) -> None:
        """Stop taking frames (before the subscription goes; also from the shutdown hook)."""
        intake = getattr(self, 'intake', None)  # None before _setup ran
        self.intake = None
        if intake is not None:
            intake.stop()

    def _start(self, *steps: Callable[[], None]) -> None:
        """Run the constructor's steps; if one fails, say why, release everything, re-raise."""
        try:
            for step in steps:
                step()
        except BaseException as exc:  # a config fault, or Ctrl-C while the model loads
            if isinstance(exc, GraspClassifierError):
                self.get_logger().fatal(f'refusing to start: {exc}')
            self.shutdown()
            self.destroy_node()
            raise

    def _configured(self) -> Pipeline:
        if self.pipeline is None:
            raise RuntimeError('the node is not configured')
        return self.pipeline

    # -- clocks -------------------------------------------------------------------------------

    def now_ns(self) -> int:
        """Return the node clock in nanoseconds (ROS time: follows use_sim_time)."""
        return int(self.get_clock().now().nanoseconds)

    def create_subscription(self, *args: Any, **kwargs: Any) -> Any:
        """
        Create a subscription as rclpy does; rclpy's own /clock one goes in its own group.

        rclpy's TimeSource subscribes /clock in the node's default callback group, where the
        parameter services run: a model reload (load and warm-up in the parameter callback)
        would stop sim time for as long as it takes. Called from ``Node.__init__`` too
        (``use_sim_time`` given at start), hence the group made on first use.
        """
        topic = kwargs['topic'] if 'topic' in kwargs else args[1] if len(args) > 1 else None
        if topic == CLOCK_TOPIC and kwargs.get('callback_group') is None:
            if getattr(self, '_clock_group', None) is None:
                self._clock_group = MutuallyExclusiveCallbackGroup()
            kwargs['callback_group'] = self._clock_group
        return super().create_subscription(*args, **kwargs)

    def _on_clock_jump(self, jump: TimeJump) -> None:
        """Start a new stream: the node clock jumped back, or use_sim_time changed."""
        event = ClockJump(self.now_ns(), int(jump.delta.nanoseconds), str(jump.clock_change.name))
        pipeline = self.pipeline
        if pipeline is not None:
            pipeline.restart_stream(event.now_ns, event.before_ns)
        if self.outcomes is not None:
            self.outcomes.restart()
        self.get_logger().info(event.message())

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
                doubles = ('double', 'double_array')
                hint = ' (write 1.0, not 1)' if spec.ros_type in doubles else ''
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
            warnings.filterwarnings('ignore', message=JIT_DEPRECATION)
            result = fn()
        for w in caught:
            if PACKAGE_DIR in Path(w.filename).resolve().parents:
                self.get_logger().warning(str(w.message))
            else:  # third-party warnings keep their usual route
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        return result

    def _log_familiarity(self, pipeline: Pipeline) -> None:
        """Say at INFO when the model's reference statistics are missing or partial."""
        note = load_note(pipeline.model.familiarity)
        if note:
            self.get_logger().info(f'out-of-depth monitor: {note}')

    def _reload_model(self, pipeline: Pipeline, params: Params) -> LoadedModel:
        """Load the model ``params`` name, then swap; on failure raise and keep the old one."""
        return self._logging_warnings(lambda: reload_model(pipeline, params))

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """
        Validate a parameter change; apply it all or nothing.

        A new ``model_path``/``model_sha256`` loads the model first (on this thread, while
        the old model keeps classifying on the inference thread) and swaps it in only on
        success; on failure the change is rejected and the old model keeps serving. Before
        ``configure`` the values are only validated: configure loads the model.
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
            pipeline = self.pipeline
            if pipeline is not None and MODEL_PARAMS & ours.keys():
                # Even the same path: the file may have been replaced.
                try:
                    model = self._reload_model(pipeline, params)
                except GraspClassifierError as exc:
                    reason = str(exc) + self._pinned_hint(exc, ours)
                    self.get_logger().error(
                        f'model change rejected, keeping the old model: {reason}'
                    )
                    return SetParametersResult(successful=False, reason=reason)
                self.get_logger().info(
                    f'now serving {model.model_id} on {model.device} ({model.runner.label})'
                )
                self._log_familiarity(pipeline)
            if pipeline is not None:
                apply_params(pipeline, params)
            capture = self.capture
            if capture is not None:
                capture.set_policy(params.capture_policy, params.capture_every)
            self.params = params
            if self.active:
                self._publish_label_info()
            return SetParametersResult(successful=True)

    def _pinned_hint(self, exc: GraspClassifierError, changed: dict[str, Any]) -> str:
        """Say how to change a pinned model: both parameters in one call (ros2 param cannot)."""
        if not isinstance(exc, ChecksumMismatchError) or MODEL_PARAMS <= changed.keys():
            return ''
        service = f'{self.get_fully_qualified_name()}/set_parameters_atomically'
        path = changed.get('model_path') or self.params.model_path or 'NEW.pt'
        return (
            '. model_sha256 pins the model file, and `ros2 param set` changes one parameter '
            'at a time: set model_path and model_sha256 in one call, e.g. '
            f'ros2 service call {service} rcl_interfaces/srv/SetParametersAtomically '
            f'"{{parameters: [{{name: model_path, value: {{type: 4, string_value: {path}}}}}, '
            '{name: model_sha256, value: {type: 4, string_value: SHA256}}]}"'
        )

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
        subscribe = functools.partial(
            self.create_subscription,
            msg_class,
            params.image_topic,
            self._on_image,
            qos,
            callback_group=self._frames_group,
        )
        try:
            return subscribe(event_callbacks=events)
        except UnsupportedEventTypeError:  # Humble raises it for a user callback
            self.get_logger().warning(
                'this middleware does not report incompatible QoS: a publisher whose QoS '
                "cannot reach this subscription will not be explained (check 'ros2 topic "
                "info -v' if no frames arrive)"
            )
            return subscribe()

    def _on_image(self, msg: Any) -> None:
        worker = self.worker
        if worker is not None:
            now = self.now_ns()
            worker.submit(msg, now)
            capture = self.capture
            if capture is not None:
                capture.offer_frame(msg, now)  # a queue append: never waits

    def _on_incompatible_qos(self, event: QoSRequestedIncompatibleQoSInfo) -> None:
        topic = self.subscription.topic_name
        text = explain_incompatible_qos(
            topic,
            qos_policy_name_from_kind(event.last_policy_kind),
            self.params.qos_reliability,
            self._offered_reliabilities(topic),
        )
        self._qos_incident = QosIncident(text)
        self._qos_explanations.append(text)
        self.get_logger().error(text)

    def _offered_reliabilities(self, topic: str) -> list[str]:
        return [
            info.qos_profile.reliability.name for info in self.get_publishers_info_by_topic(topic)
        ]

    @property
    def qos_incompatibilities(self) -> list[str]:
        """Explanations logged for incompatible publishers so far (oldest first)."""
        return list(self._qos_explanations)

    # -- output -------------------------------------------------------------------------------

    def _update_debug_wanted(self) -> None:
        """Keep frame previews only while the debug image is enabled and subscribed."""
        pipeline, debug = self.pipeline, self._outputs.get('debug')
        if pipeline is not None and debug is not None:
            pipeline.keep_previews(
                self.params.publish_debug_image and debug.get_subscription_count() > 0
            )

    def _on_result(self, result: FrameResult) -> None:
        """Publish one processed frame (runs on the inference thread)."""
        if not self.context.ok():  # shutting down: the publishers are going away
            if self.worker is not None:
                self.worker.stop()
            return
        try:
            self._publish_result(result)
        except Exception:
            if self.context.ok():
                raise
            # the context shut down while publishing (Ctrl-C): nothing left to tell
        if result.decision is not None and self.outcomes is not None:
            self.outcomes.note_verdict(result.done_ns, result.decision.success)
        capture = self.capture
        if capture is not None:
            capture.offer_result(result)  # a queue append: never waits

    def _publish_result(self, result: FrameResult) -> None:
        pubs = self._outputs
        if result.preview is not None and self.pipeline is not None:
            # only kept while _update_debug_wanted says so
            overlay = draw_overlay(
                result.preview, result, self.pipeline.roi, mount=self.pipeline.mount
            )
            pubs['debug'].publish(bgr8_image_msg(Image, result.header, overlay))
        if result.decision is None:
            if result.error:
                self.get_logger().warning(
                    f'frame skipped ({result.status}): {result.error}', throttle_duration_sec=5.0
                )
            return
        if result.decision.new_stream_after_s > 0:
            self.get_logger().info(
                stamp_jump_message(result.decision.new_stream_after_s), throttle_duration_sec=5.0
            )
        pubs['success'].publish(Bool(data=bool(result.decision.success)))
        pubs['confidence'].publish(Float32(data=float(result.decision.probability)))
        if result.probabilities is not None:
            pubs['result'].publish(
                classification_msg(
                    Classification,
                    ObjectHypothesis,
                    result.header,
                    result.class_names,  # the names of the model that scored this frame
                    result.probabilities.tolist(),
                )
            )

    def _publish_label_info(self) -> None:
        pipeline = self._configured()
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id='')
        self._outputs['label_info'].publish(
            label_info_msg(
                LabelInfo,
                VisionClass,
                header,
                pipeline.metadata.class_names,
                pipeline.threshold,
            )
        )

    # -- service and diagnostics --------------------------------------------------------------

    def _on_check(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        """Answer ``~/check`` from the next ``check_frames`` fresh frames (blocks this thread)."""
        pipeline = self.pipeline
        if not self.active or pipeline is None:
            response.success = False
            response.message = 'no verdict: the node is not active (lifecycle); activate it'
            return response
        if not self._check_slots.acquire(blocking=False):
            response.success = False
            response.message = (
                f'busy: {MAX_PENDING_CHECKS} ~/check calls are already waiting for frames; '
                'retry when one has been answered'
            )
            return response
        called = self.now_ns()
        capture = self.capture
        if capture is not None:
            capture.mark_check(called)  # hold frames from capture_before s before the call
        try:
            outcome = pipeline.run_check(
                self.params.check_frames, self.params.check_timeout, self.now_ns
            )
        finally:
            self._check_slots.release()
        if self.outcomes is not None:
            verdict = None if outcome.mean_probability is None else bool(outcome.success)
            self.outcomes.note_check(called, self.now_ns(), verdict)
        response.success = bool(outcome.success)
        response.message = outcome.message
        return response

    def _on_outcome(self, msg: Bool) -> None:
        """Pair the controller's outcome with the node's verdict; end the captured attempt."""
        outcomes, pipeline = self.outcomes, self.pipeline
        if outcomes is None or pipeline is None:
            return
        attempt = outcomes.pair(self.now_ns(), bool(msg.data))
        if not attempt.paired:
            self.get_logger().warning(
                f'outcome {"held" if attempt.held else "failed"} not paired with a verdict '
                f'({attempt.reason}): counted as unpaired in /diagnostics; call ~/check '
                'before publishing the outcome',
                throttle_duration_sec=5.0,
            )
        capture = self.capture
        if capture is not None:
            capture.end_attempt(attempt, pipeline.threshold)

    def _capture_root(self) -> Path:
        """Return ``capture_dir/<node>``, created; ParameterError when it cannot be."""
        from ..bag.capture import node_folder

        root = Path(self.params.capture_dir).expanduser() / node_folder(
            self.get_fully_qualified_name()
        )
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ParameterError(
                'capture_dir', self.params.capture_dir, f'cannot create {root}: {exc}'
            ) from exc
        return root

    def _capture_module(self) -> Any:
        """Return ``bag.capture``; ParameterError when the rosbags package is missing."""
        try:
            from ..bag import capture
        except ImportError as exc:
            raise ParameterError(
                'capture_dir',
                self.params.capture_dir,
                f'capture writes rosbag2 bags with the rosbags package: pip install rosbags '
                f'({exc})',
            ) from exc
        return capture

    def _start_capture(self, params: Params) -> CaptureWriter:
        """Start the capture writer's thread (``bag.capture``)."""
        from rclpy.serialization import serialize_message

        capture = self._capture_module()
        mb = capture.MB
        config = capture.CaptureConfig(
            root=self._capture_root(),
            image_topic=self.subscription.topic_name,
            image_type=input_kind(params.compressed).msg_type,
            policy=params.capture_policy,
            every=params.capture_every,
            before_s=params.capture_before,
            max_bytes=round(params.capture_max_mb * mb),
            max_attempts=params.capture_max_attempts,
        )
        writer: CaptureWriter = capture.CaptureWriter(config, serialize=serialize_message).start()
        self.get_logger().info(
            f"capturing attempts ({params.capture_policy}) into '{config.root}', "
            f'{writer.stats.bytes_used / mb:.1f} of {params.capture_max_mb:g} MB used'
        )
        return writer

    def _diagnose(self, stat: DiagnosticStatusWrapper) -> DiagnosticStatusWrapper:
        pipeline = self.pipeline
        if pipeline is None:
            stat.summary(DiagnosticStatus.OK, 'unconfigured: no model loaded (lifecycle)')
            return stat
        now = self.now_ns()
        snapshot = pipeline.snapshot(now)
        familiarity = pipeline.familiarity.state()
        if not self.active:
            stat.summary(DiagnosticStatus.OK, 'inactive: not subscribed (lifecycle)')
        elif now == 0:  # use_sim_time before the first /clock message (system time is never 0)
            stat.summary(DiagnosticStatus.ERROR, WAITING_FOR_CLOCK)
        else:
            incident = self._qos_incident
            incompatible = 0
            if incident is not None and self.subscription is not None:
                topic = self.subscription.topic_name
                incompatible = incompatible_publishers(
                    self.params.qos_reliability, self._offered_reliabilities(topic)
                )
            level, message, self._qos_incident = stream_health(
                snapshot, self.params.camera_timeout, incident, incompatible
            )
            level, message = with_familiarity(level, message, familiarity)
            level, message = self._outcome_health(level, message)
            stat.summary(getattr(DiagnosticStatus, level), message)
        model = pipeline.model
        for key, value in diagnostic_values(
            snapshot,
            device=str(model.device),
            model_id=model.model_id,
            threshold=pipeline.threshold,
        ):
            stat.add(key, value)
        for key, value in familiarity.values():
            stat.add(key, value)
        if self.outcomes is not None:
            for key, value in self.outcomes.diagnostic_values():
                stat.add(key, value)
        capture = self.capture
        if capture is not None:
            for key, value in capture.diagnostic_values():
                stat.add(key, value)
        return stat

    def _outcome_health(self, level: str, message: str) -> tuple[str, str]:
        """Add the live agreement's and capture's warnings to the stream's level and message."""
        if level == 'ERROR':  # a stopped camera or unusable frames come first
            return level, message
        warnings_ = []
        if self.outcomes is not None:
            live_level, live_message = self.outcomes.assess(self.params.min_live_accuracy)
            if live_level == 'WARN':
                warnings_.append(live_message)
        capture = self.capture
        if capture is not None and capture.stats.stopped:
            warnings_.append(f'capture stopped: {capture.stats.stopped}')
        if not warnings_:
            return level, message
        if level == 'WARN':
            warnings_.insert(0, message)
        return 'WARN', '; '.join(warnings_)


class GraspClassifierNode(ClassifierAdapter, Node):
    """Subscribe to the camera, classify the newest frame, publish verdicts (from the start)."""

    def __init__(self, **node_kwargs: Any) -> None:
        Node.__init__(self, NODE_NAME, **node_kwargs)
        self._start(self._setup, self._configure, self._activate)


class GraspClassifierLifecycleNode(ClassifierAdapter, LifecycleNode):
    """
    The managed variant: starts unconfigured; its transitions run the adapter's steps.

    configure loads the model; activate subscribes and publishes; deactivate stops intake
    and frees cached CUDA memory; cleanup unloads the model; shutdown stops everything.
    A failing step logs why and returns FAILURE (the node stays where it was).
    """

    def __init__(self, **node_kwargs: Any) -> None:
        LifecycleNode.__init__(self, NODE_NAME, **node_kwargs)
        self._start(self._setup)

    def _step(self, name: str, *steps: Callable[[], None]) -> TransitionCallbackReturn:
        try:
            for step in steps:
                step()
        except GraspClassifierError as exc:
            self.get_logger().error(f'{name} failed: {exc}')
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(f'{name}: done')
        return TransitionCallbackReturn.SUCCESS

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._step('configure', self._configure)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._step('activate', self._activate)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._step('deactivate', self._deactivate)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._step('cleanup', self._cleanup)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._step('shutdown', self._deactivate, self._cleanup)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._step('error recovery', self._deactivate, self._cleanup)


def make_node(lifecycle: bool = False, **node_kwargs: Any) -> ClassifierAdapter:
    """Return the plain node (classifying from the start) or the lifecycle node."""
    if lifecycle:
        return GraspClassifierLifecycleNode(**node_kwargs)
    return GraspClassifierNode(**node_kwargs)


def message_class(msg_type: str) -> Any:
    """Return the rclpy message class of a type name (``sensor_msgs/msg/Image``)."""
    package, kind, name = msg_type.split('/')
    return getattr(importlib.import_module(f'{package}.{kind}'), name)
