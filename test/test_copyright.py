# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Every Python file carries the copyright and licence header (what ament_copyright checks)."""

from __future__ import annotations

from pathlib import Path
import subprocess

import pytest

REPO = Path(__file__).resolve().parents[1]
HEADER = (
    '# Copyright 2026 The grasp_classifier_ros Authors',
    '# SPDX-License-Identifier: Apache-2.0',
)


def python_files() -> list[Path]:
    out = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard', '*.py'],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:  # not a git checkout (e.g. an sdist): scan the tree
        return sorted(
            p for p in REPO.rglob('*.py') if not any(part.startswith('.') for part in p.parts)
        )
    return sorted(REPO / line for line in out.stdout.splitlines() if line)


def header_of(path: Path) -> tuple[str, ...]:
    lines = path.read_text(encoding='utf-8').splitlines()
    if lines and lines[0].startswith('#!'):
        lines = lines[1:]
    return tuple(lines[:2])


def test_python_files_found():
    names = {p.name for p in python_files()}
    assert {'node.py', 'pipeline.py', 'classify.launch.py', 'setup.py'} <= names


@pytest.mark.parametrize('path', python_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_copyright_and_license_header(path: Path):
    if not path.exists():
        pytest.skip(f'{path} deleted in the working tree')
    assert header_of(path) == HEADER, f'{path.relative_to(REPO)}: add the two header lines'


def test_header_check_catches_a_missing_header(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text('"""No header."""\n')
    assert header_of(bad) != HEADER
