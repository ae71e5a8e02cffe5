# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The ament linters a ROS 2 build farm runs (`colcon test`); skipped where ament is absent.

Here ruff applies the same rules (ruff.toml). Headers are short SPDX lines, which older
ament_copyright releases do not parse, so test_copyright.py checks them instead of it.
"""

from __future__ import annotations

import pytest


@pytest.mark.linter
def test_flake8():
    main = pytest.importorskip(
        'ament_flake8.main', reason='ament_flake8 not installed: source a ROS 2 install'
    ).main_with_errors
    rc, errors = main(argv=[])
    assert rc == 0, f'Found {len(errors)} code style errors / warnings:\n' + '\n'.join(errors)


@pytest.mark.linter
def test_pep257():
    main = pytest.importorskip(
        'ament_pep257.main', reason='ament_pep257 not installed: source a ROS 2 install'
    ).main
    assert main(argv=['.', 'test']) == 0, 'Found code style errors / warnings'
