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
The launch harness starts ``ros2 launch`` as a terminal does (issue 18 item 9).

No ROS needed: a Python child stands in for ``ros2 launch`` (a Python program too). The
test run may inherit an ignored SIGINT (a background job of a non-interactive shell, some
CI runners); the harness's child must still get SIGINT at its default, in its own process
group, so that signalling the group is a terminal's Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import os
import signal
import subprocess
import sys

from ros_probe import spawn_like_a_terminal

REPORT = (
    'import os, signal; '
    'print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, '
    'os.getpgid(0) == os.getpid(), flush=True)'
)
SLEEP = 'import time; print("ready", flush=True); time.sleep(60)'


@contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT in this process, as a background job of a non-interactive shell does."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run(popen: subprocess.Popen) -> list[str]:
    out, _ = popen.communicate(timeout=60)
    return out.split()


def test_an_ignored_sigint_is_inherited_without_the_harness():
    # The control: this is what `ros2 launch` saw, and why it ignored Ctrl-C.
    with sigint_ignored():
        child = subprocess.Popen([sys.executable, '-c', REPORT], stdout=subprocess.PIPE, text=True)
    assert run(child) == ['False', 'False']


def test_the_harness_child_gets_sigint_at_its_default_in_its_own_group():
    with sigint_ignored():
        child = spawn_like_a_terminal(
            [sys.executable, '-c', REPORT], stdout=subprocess.PIPE, text=True
        )
    assert run(child) == ['True', 'True']


def test_sigint_to_the_group_stops_the_child_as_ctrl_c_does():
    with sigint_ignored():
        child = spawn_like_a_terminal(
            [sys.executable, '-c', SLEEP], stdout=subprocess.PIPE, text=True
        )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == 'ready'
        os.killpg(child.pid, signal.SIGINT)
        assert child.wait(timeout=30) == -signal.SIGINT  # KeyboardInterrupt, re-raised
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
