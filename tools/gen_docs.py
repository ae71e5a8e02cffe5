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
Regenerate config/classifier.yaml and the README parameter table from params.py.

Usage: ``python tools/gen_docs.py`` (write) or ``--check`` (exit 1 if stale).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys

from grasp_classifier_ros.core.params import readme_table, to_yaml

ROOT = Path(__file__).resolve().parents[1]
YAML_PATH = ROOT / 'config' / 'classifier.yaml'
README_PATH = ROOT / 'README.md'
START, END = '<!-- params:start -->', '<!-- params:end -->'


def render_readme(text: str) -> str:
    """Return ``text`` with the region between the markers replaced by the table."""
    if START not in text or END not in text:
        raise SystemExit(f'{README_PATH}: markers {START} / {END} not found')
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f'{head}{START}\n{readme_table()}{END}{tail}'


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--check', action='store_true', help='only check, do not write')
    args = ap.parse_args(argv)
    wanted = {YAML_PATH: to_yaml(), README_PATH: render_readme(README_PATH.read_text())}
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for p in stale:
            print(f'{p.relative_to(ROOT)} is out of date: run `make docs`')
        return 1 if stale else 0
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(wanted[p])
        print(f'wrote {p.relative_to(ROOT)}')
    if not stale:
        print('config/classifier.yaml and README parameter table are up to date')
    return 0


if __name__ == '__main__':
    sys.exit(main())
