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
What starts a new stream, and the one line the node logs for it.

Two things start a camera stream over (``Pipeline.restart_stream`` /
``Decider.restart``): the node clock jumping (back, or to another time source when
``use_sim_time`` changes: a ``ros2 bag play --loop --clock`` loop, a simulation reset),
which the node learns from its clock's jump callback; and the frames' stamps jumping
back (a camera restart, a bag loop without /clock), which the decider sees itself. No
rclpy import: the node passes the jump's numbers and the name of rclpy's ``ClockChange``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .stamps import NS

STATE = 'the last stamp, smoothing and hysteresis state'  # what every new stream clears


@dataclass(frozen=True)
class ClockJump:
    """
    A jump of the node clock, as its jump callback reports it.

    ``now_ns``: the clock after the jump; ``delta_ns``: after minus before (negative: back);
    ``change``: the name of rclpy's ``ClockChange`` (``ROS_TIME_NO_CHANGE`` for a jump of
    sim time, ``ROS_TIME_ACTIVATED`` / ``ROS_TIME_DEACTIVATED`` when ``use_sim_time`` changes).
    """

    now_ns: int
    delta_ns: int
    change: str = 'ROS_TIME_NO_CHANGE'

    @property
    def before_ns(self) -> int:
        """Return the clock just before the jump."""
        return self.now_ns - self.delta_ns

    def message(self) -> str:
        """Return the one line the node logs: what happened, and that a new stream starts."""
        now = self.now_ns / NS
        if self.change == 'ROS_TIME_ACTIVATED':
            what = f'use_sim_time is now true: the node clock follows /clock ({now:.3f} s)'
        elif self.change == 'ROS_TIME_DEACTIVATED':
            what = 'use_sim_time is now false: the node clock is the system clock again'
        else:
            what = (
                f'the node clock jumped back {-self.delta_ns / NS:.3f} s to {now:.3f} s '
                '(a bag loop or a simulation reset)'
            )
        return f'{what}: new stream ({STATE}, pending ~/check frames and input rate cleared)'


def stamp_jump_message(back_s: float) -> str:
    """Return the line the node logs when a frame's stamp jumped back ``back_s`` seconds."""
    return (
        f'frame stamps jumped back {back_s:.3f} s (a camera restart, or a bag looped without '
        f'/clock): new stream ({STATE} cleared)'
    )
