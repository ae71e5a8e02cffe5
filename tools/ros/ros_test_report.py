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
pytest plugin for ``make ros-test``: no silent skips, and one count line per distro.

Loaded with ``-p ros_test_report`` (tools/ros on PYTHONPATH). Under ``make ros-test`` ROS 2 is
there by construction, so a skipped test means the setup is broken: it fails the run unless
its reason is one of ``ALLOWED_SKIPS`` (conditions that have nothing to do with ROS). The
counts go to the file named by ``ROS_TEST_COUNTS`` (JSON) for tools/ros/test.sh's table.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

ALLOWED_SKIPS = ('CUDA is present here',)
OUTCOMES = ('passed', 'failed', 'error', 'skipped', 'xfailed', 'xpassed')


def _reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix('Skipped: ')
    return str(longrepr)


def _summary(session: pytest.Session) -> tuple[dict[str, int], list[str]]:
    reporter = session.config.pluginmanager.get_plugin('terminalreporter')
    stats = reporter.stats if reporter is not None else {}
    counts = {k: len(stats.get(k, [])) for k in OUTCOMES}
    bad = [
        f'{r.nodeid}: {_reason(r)}'
        for r in stats.get('skipped', [])
        if not any(allowed in _reason(r) for allowed in ALLOWED_SKIPS)
    ]
    return counts, bad


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    counts, bad = _summary(session)
    if bad and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    path = os.environ.get('ROS_TEST_COUNTS')
    if path:
        with open(path, 'w', encoding='utf-8') as f:
            json.dump({**counts, 'disallowed_skips': bad}, f, indent=1)


_SESSION: list[pytest.Session] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _SESSION[:] = [session]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    counts, bad = _summary(_SESSION[0])
    distro = os.environ.get('ROS_DISTRO', '?')
    text = ', '.join(f'{n} {k}' for k, n in counts.items() if n)
    terminalreporter.write_sep('=', f'ros-test {distro}: {text or "nothing ran"}')
    for line in bad:
        terminalreporter.write_line(f'SKIPPED under ROS (counts as a failure): {line}', red=True)
