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
``make gpu-check`` without a GPU: one SKIP line and exit 77 (0 from make unless REQUIRE_GPU=1).

CUDA is hidden (``CUDA_VISIBLE_DEVICES=''``), so these hold on a GPU machine too. The
dry run (``--device cpu``) runs every check with the CPU standing in for the GPU.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / 'benchmarks' / 'gpu_check.py'
NO_CUDA = {**os.environ, 'CUDA_VISIBLE_DEVICES': ''}


def run(*args: str, env: dict[str, str] = NO_CUDA) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_without_cuda_it_says_so_in_one_line_and_exits_77() -> None:
    done = run(sys.executable, str(SCRIPT))
    assert done.returncode == 77, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith('SKIP gpu-check: no CUDA device here')


@pytest.mark.skipif(shutil.which('make') is None, reason='needs make')
def test_make_target_is_green_on_a_skip_unless_a_gpu_is_required(tmp_path: Path) -> None:
    # A fresh STAMP (newer than what the venv rule depends on) and this interpreter's BIN:
    # make must not build a virtual environment here.
    stamp = tmp_path / 'installed'
    stamp.touch()
    vars_ = [f'STAMP={stamp}', f'BIN={Path(sys.executable).parent}']
    done = run('make', '-s', 'gpu-check', *vars_)
    assert done.returncode == 0 and done.stdout.startswith('SKIP gpu-check'), done.stderr
    assert run('make', '-s', 'gpu-check', 'REQUIRE_GPU=1', *vars_).returncode != 0
    assert 'gpu-check' in run('make', 'help').stdout


def test_dry_run_on_the_cpu_runs_every_check(tmp_path: Path) -> None:
    out = tmp_path / 'gpu_check.json'
    args = ['--device', 'cpu', '--frames', '20', '--parity-frames', '6', '--target-ms', '1e4']
    done = run(sys.executable, str(SCRIPT), *args, '--out', str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'DRY RUN' in done.stdout and 'all checks passed' in done.stdout
    checks = {c['check']: c for c in json.loads(out.read_text())['checks']}
    assert set(checks) == {
        'fp16 load',
        'fp16 parity with CPU',
        'fp16 latency',
        'fp32 load',
        'fp32 parity with CPU',
        'fp32 latency',
        'cuda_fallback=true (cuda:0 absent)',
        'cuda_fallback=false (cuda:0 absent)',
    }
    assert checks['fp32 latency']['p99_ms'] >= checks['fp32 latency']['p50_ms'] > 0
