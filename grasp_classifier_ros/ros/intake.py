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
Frame intake outside the executor: one subscription, waited on by a thread of its own.

rclpy's executors rebuild their wait set from every entity of every node in Python each
time they wake; under ``MultiThreadedExecutor`` that, its thread pool and the task wrapping
each message were most of the node's Python work per frame (a py-spy sample of the node at
30 Hz had 69 % of its GIL-holding samples in ``Executor._wait_for_ready_callbacks``) and
0.2-0.9 ms of CPU per 640x480 frame, ~5 ms per 1280x720 frame (``make ros-bench``).
``FrameIntake`` waits on the frame subscription alone (an rcl wait set of one subscription
and one guard condition, as ``rclpy.wait_for_message`` does), takes each message and hands
it to ``on_frame`` on its own thread. The executor never sees the subscription: it sits in
an ``IntakeCallbackGroup``, which refuses subscriptions to executors but lets the rest of the
group (the subscription's QoS event handlers) run there as before. Parameters, services,
timers and /clock stay with the executor, so a model reload or a waiting ``~/check`` never
holds up frames.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
import threading
from typing import Any

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.context import Context
from rclpy.guard_condition import GuardCondition
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.subscription import Subscription

_LOG = logging.getLogger(__name__)
WAIT_NS = 200_000_000  # wake at least this often to notice a shut-down context


class IntakeCallbackGroup(MutuallyExclusiveCallbackGroup):
    """A callback group whose subscriptions no executor takes (``FrameIntake`` does)."""

    def can_execute(self, entity: Any) -> bool:
        return not isinstance(entity, Subscription) and super().can_execute(entity)

    def beginning_execution(self, entity: Any) -> bool:
        return not isinstance(entity, Subscription) and super().beginning_execution(entity)


class FrameIntake:
    """
    Take messages from ``subscription`` on a thread and pass each to ``on_frame``.

    ``on_frame`` runs on the intake thread and must not block for long (the node's
    submits to the inference thread's one-slot mailbox). ``stop`` before the subscription
    is destroyed.
    """

    def __init__(
        self,
        subscription: Subscription,
        on_frame: Callable[[Any], None],
        context: Context,
        name: str = 'grasp-intake',
    ) -> None:
        self._sub = subscription
        self._on_frame = on_frame
        self._context = context
        self._guard = GuardCondition(None, None, context=context)  # wakes the wait on stop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.taken = 0
        self.errors = 0

    def start(self) -> FrameIntake:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop taking frames; wait for a frame being handed over (unless on the thread)."""
        self._stop.set()
        try:
            self._guard.trigger()
        except Exception:  # the context is already gone: the wait times out instead
            pass
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self._guard.destroy()

    def _run(self) -> None:
        try:
            wait_set = _rclpy.WaitSet(1, 1, 0, 0, 0, 0, self._context.handle)
            while not self._stop.is_set() and self._context.ok():
                msg = self._wait_and_take(wait_set)
                if msg is None or self._stop.is_set():
                    continue
                self.taken += 1
                try:
                    self._on_frame(msg)
                except Exception:  # a frame must never stop intake
                    self.errors += 1
                    _LOG.exception('frame intake: handing over a frame failed')
        except Exception:  # the subscription or context went away under us: stop quietly
            if not self._stop.is_set() and self._context.ok():
                _LOG.exception('frame intake stopped')

    def _wait_and_take(self, wait_set: Any) -> Any:
        sub = self._sub
        with sub.handle, self._guard.handle:  # neither is destroyed while waited on
            wait_set.clear_entities()
            wait_set.add_subscription(sub.handle)
            wait_set.add_guard_condition(self._guard.handle)
            wait_set.wait(WAIT_NS)
            if sub.handle.pointer not in wait_set.get_ready_entities('subscription'):
                return None
            taken = sub.handle.take_message(sub.msg_type, sub.raw)
        return None if taken is None else taken[0]
