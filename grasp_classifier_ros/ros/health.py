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
What the node's diagnostics say: the stream's health plus its subscription's QoS state.

``core.stats.assess`` judges the frames; an incompatible-QoS event (a publisher whose
frames can never arrive) adds to that for as long as such a publisher is still matched:
ERROR while no frames arrive (the QoS explanation, not "camera stopped", since it is the
likely cause), WARN while frames from other publishers are classified. Once no incompatible
publisher remains, the stream's own health is reported again. Inputs unlike the model's
training data (``core.familiarity``) turn OK into WARN. No rclpy import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..core.familiarity import FamiliarityState
from ..core.stats import assess

WAITING_FOR_CLOCK = (
    'waiting for /clock: use_sim_time is true and no clock message has arrived yet; nothing '
    'is classified until one does (ros2 bag play --clock, or the simulator)'
)


@dataclass(frozen=True)
class QosIncident:
    """The explanation logged for the latest incompatible publisher."""

    explanation: str


def incompatible_publishers(requested: str, offered: Iterable[str]) -> int:
    """
    Count publishers whose reliability cannot reach a subscription requesting ``requested``.

    ``offered``: each publisher's reliability policy name (rclpy's ``RELIABLE``,
    ``BEST_EFFORT``, ...). A reliable subscription cannot match a best-effort publisher;
    a best-effort one matches both (the only QoS incompatibility the node's profile allows).
    """
    if requested.lower() != 'reliable':
        return 0
    return sum(1 for o in offered if o.lower() == 'best_effort')


def stream_health(
    snapshot: dict[str, Any],
    camera_timeout_s: float,
    incident: QosIncident | None,
    incompatible_now: int,
) -> tuple[str, str, QosIncident | None]:
    """
    Return the diagnostic level, message and the incident still in force (None: cleared).

    ``incompatible_now``: incompatible publishers matched on the topic right now.
    """
    level, message = assess(snapshot, camera_timeout_s)
    if incident is None or incompatible_now == 0:
        return level, message, None
    since = snapshot['seconds_since_last_frame']
    if since is None or since > camera_timeout_s:  # nothing arrives: the QoS is the cause
        return 'ERROR', incident.explanation, incident
    if level == 'ERROR':  # frames arrive but are unusable: that is the first thing to fix
        return level, message, incident
    return 'WARN', f'{incident.explanation} (frames of other publishers are classified)', incident


def with_familiarity(level: str, message: str, state: FamiliarityState) -> tuple[str, str]:
    """
    Add the out-of-depth monitor's verdict to the stream's health.

    Unfamiliar inputs turn OK into WARN with the monitor's one-line reason; a WARN or ERROR
    about the stream itself stays first (fix that, then look at the inputs).
    """
    if state.unfamiliar and level == 'OK':
        return 'WARN', state.message
    return level, message
