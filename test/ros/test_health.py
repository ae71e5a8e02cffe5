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
"""What diagnostics say about the stream and its QoS (ros/health.py; no ROS needed)."""

from __future__ import annotations

from grasp_classifier_ros.ros.health import incompatible_publishers, QosIncident, stream_health
import pytest

INCIDENT = QosIncident("publisher on '/cam' is incompatible (policy RELIABILITY): ...")


def snapshot(since: float | None) -> dict:
    return {
        'seconds_since_last_frame': since,
        'recent_stale_fraction': 0.0,
        'recent_fault_fraction': 0.0,
        'recent_counts': {'ok': 3} if since is not None else {},
    }


@pytest.mark.parametrize(
    ('requested', 'offered', 'count'),
    [
        ('reliable', ['BEST_EFFORT', 'RELIABLE', 'BEST_EFFORT'], 2),
        ('reliable', ['RELIABLE'], 0),
        ('best_effort', ['BEST_EFFORT', 'RELIABLE'], 0),
        ('reliable', [], 0),
    ],
)
def test_incompatible_publishers(requested, offered, count) -> None:
    assert incompatible_publishers(requested, offered) == count


def test_without_an_incident_the_stream_speaks() -> None:
    assert stream_health(snapshot(0.1), 1.0, None, 0) == ('OK', 'classifying', None)
    level, message, _ = stream_health(snapshot(5.0), 1.0, None, 0)
    assert (level, message.startswith('camera stopped')) == ('ERROR', True)


@pytest.mark.parametrize('since', [None, 5.0])
def test_no_frames_and_an_incompatible_publisher_give_the_qos_explanation(since) -> None:
    assert stream_health(snapshot(since), 1.0, INCIDENT, 1) == (
        'ERROR',
        INCIDENT.explanation,
        INCIDENT,
    )


def test_frames_of_other_publishers_make_it_a_warning() -> None:
    level, message, kept = stream_health(snapshot(0.1), 1.0, INCIDENT, 1)
    assert (level, kept) == ('WARN', INCIDENT)
    assert message == f'{INCIDENT.explanation} (frames of other publishers are classified)'


def test_the_incident_clears_once_no_incompatible_publisher_remains() -> None:
    assert stream_health(snapshot(0.1), 1.0, INCIDENT, 0) == ('OK', 'classifying', None)


def test_unfamiliar_inputs_turn_ok_into_warn_and_nothing_else() -> None:
    from grasp_classifier_ros.core.familiarity import FamiliarityState, REASON
    from grasp_classifier_ros.ros.health import with_familiarity

    odd = FamiliarityState('unfamiliar', 30, 30, 5.0, 2.0, 1.0, 1.3)
    assert with_familiarity('OK', 'classifying', odd) == ('WARN', odd.message)
    assert odd.message.startswith(REASON)
    assert with_familiarity('ERROR', 'camera stopped', odd) == ('ERROR', 'camera stopped')
    fine = FamiliarityState('familiar', 30, 30, 1.0, 2.0, 1.0, 1.3)
    assert with_familiarity('OK', 'classifying', fine) == ('OK', 'classifying')
    none = FamiliarityState('no_reference', 0, 30)
    assert with_familiarity('OK', 'classifying', none) == ('OK', 'classifying')
