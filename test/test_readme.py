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
"""The README's commands work as written on a fresh clone: targets exist, scripts are on PATH."""

from __future__ import annotations

import ast
from pathlib import Path
import re

REPO = Path(__file__).resolve().parent.parent
README = (REPO / 'README.md').read_text(encoding='utf-8')
MAKEFILE = (REPO / 'Makefile').read_text(encoding='utf-8').replace('\\\n', ' ')
CONSOLE_SCRIPTS = ('evaluate_bag', 'make_bag', 'grasp-train')
ACTIVATE = 'source .venv/bin/activate'


def _make_rules() -> set[str]:
    return set(re.findall(r'^([a-z][a-z-]*):', MAKEFILE, flags=re.MULTILINE))


def _bash_lines() -> list[str]:
    blocks = re.findall(r'```bash\n(.*?)```', README, flags=re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_every_phony_target_has_a_rule() -> None:
    phony = re.search(r'^\.PHONY:(.*)$', MAKEFILE, flags=re.MULTILINE)
    assert phony is not None
    assert set(phony.group(1).split()) - _make_rules() == set()


def test_every_make_target_the_readme_names_exists() -> None:
    named = set(re.findall(r'`make ([a-z][a-z-]*)', README))
    named |= {m for line in _bash_lines() for m in re.findall(r'^make ([a-z][a-z-]*)', line)}
    assert 'demo' in named and 'test' in named
    assert named - _make_rules() == set()


def test_venv_is_activated_before_the_first_console_script() -> None:
    lines = _bash_lines()
    first_script = next(i for i, line in enumerate(lines) if line.startswith(CONSOLE_SCRIPTS))
    assert any(ACTIVATE in line for line in lines[:first_script]), lines[first_script]
    # and no example relies on the .venv/bin/ prefix instead
    assert not [line for line in lines if '.venv/bin/' in line and ACTIVATE not in line]


def test_runtime_package_never_imports_torchvision() -> None:
    """The CPU-only install the README offers has no torchvision."""
    offenders = []
    for path in sorted((REPO / 'grasp_classifier_ros').rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f'{path.name}: {n}' for n in names if n.split('.')[0] == 'torchvision']
    assert offenders == []
