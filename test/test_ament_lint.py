# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The ament linters a ROS 2 build farm runs (`colcon test`); skipped where ament is absent.

They run for real under `make ros-test`. They still fail there (issue 10): ruff's import
order, docstring and slice formatting differ from ament_flake8/ament_pep257's defaults, and
ament_copyright does not read SPDX-only headers (test_copyright.py checks those here). The
fix is phase 2 of issue 10; until it lands they are expected failures.
"""

from __future__ import annotations

import pytest


def xfail(defect: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f'issue 10: {defect}')


@pytest.mark.linter
@xfail('ament_flake8: import order (I100/I101), E203 from ruff format, A003, E402, E501')
def test_flake8():
    main = pytest.importorskip(
        'ament_flake8.main', reason='ament_flake8 not installed: source a ROS 2 install'
    ).main_with_errors
    rc, errors = main(argv=[])
    assert rc == 0, f'Found {len(errors)} code style errors / warnings:\n' + '\n'.join(errors)


@pytest.mark.linter
@xfail('ament_pep257: D213 (summary on the second line), D401, D402')
def test_pep257():
    main = pytest.importorskip(
        'ament_pep257.main', reason='ament_pep257 not installed: source a ROS 2 install'
    ).main
    assert main(argv=['.', 'test']) == 0, 'Found code style errors / warnings'


@pytest.mark.linter
@xfail('ament_copyright: SPDX-only headers are not recognised as a licence')
def test_copyright():
    main = pytest.importorskip(
        'ament_copyright.main', reason='ament_copyright not installed: source a ROS 2 install'
    ).main
    assert main(argv=['.', 'test']) == 0, 'Found errors'
