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
Every Python file carries the copyright and licence header (what ament_copyright checks).

The ament package's files carry the full Apache-2.0 header ament_copyright reads (it does
not read an SPDX line alone), the SPDX line last: Humble's ament_copyright rejects one
between the copyright and the licence text. training/ is a separate pip project that
ament does not scan: there the copyright and SPDX lines suffice.
"""

from __future__ import annotations

from pathlib import Path
import subprocess

import pytest

REPO = Path(__file__).resolve().parents[1]
COPYRIGHT = '# Copyright 2026 The grasp_classifier_ros Authors'
SPDX = '# SPDX-License-Identifier: Apache-2.0'
HEADER = (
    COPYRIGHT,
    '#',
    '# Licensed under the Apache License, Version 2.0 (the "License");',
    '# you may not use this file except in compliance with the License.',
    '# You may obtain a copy of the License at',
    '#',
    '#     http://www.apache.org/licenses/LICENSE-2.0',
    '#',
    '# Unless required by applicable law or agreed to in writing, software',
    '# distributed under the License is distributed on an "AS IS" BASIS,',
    '# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.',
    '# See the License for the specific language governing permissions and',
    '# limitations under the License.',
    '#',
    SPDX,
)
NOT_AMENT = 'training'  # its own pip project (training/pyproject.toml)


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
    """Return the comment lines a file starts with (after a shebang)."""
    lines = path.read_text(encoding='utf-8').splitlines()
    if lines and lines[0].startswith('#!'):
        lines = lines[1:]
    header = []
    for line in lines:
        if not line.startswith('#'):
            break
        header.append(line)
    return tuple(header)


def header_ok(path: Path) -> bool:
    header = header_of(path)
    if path.relative_to(REPO).parts[0] == NOT_AMENT:
        return header[:1] == (COPYRIGHT,) and SPDX in header
    return header[: len(HEADER)] == HEADER


def test_python_files_found():
    names = {p.name for p in python_files()}
    assert {'node.py', 'pipeline.py', 'classify.launch.py', 'setup.py'} <= names


@pytest.mark.parametrize('path', python_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_copyright_and_license_header(path: Path):
    if not path.exists():
        pytest.skip(f'{path} deleted in the working tree')
    assert header_ok(path), f'{path.relative_to(REPO)}: start it with the header of {__file__}'


def test_header_check_catches_a_missing_or_partial_header(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text('"""No header."""\n')
    assert header_of(bad) != HEADER
    bad.write_text(f'{COPYRIGHT}\n{SPDX}\n')
    assert header_of(bad) != HEADER
