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
"""Describe the machine a benchmark ran on: CPU, cores, load, library versions, memory."""

from __future__ import annotations

import os
import platform
import resource
from typing import Any

import cv2
import numpy as np
import torch


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Return the number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def load_average() -> list[float]:
    """Return the 1, 5 and 15 minute load averages (empty where unknown)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def rss_mb() -> float:
    """Return this process's current resident set size in MiB."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float('nan')


def peak_rss_mb() -> float:
    """Return this process's peak resident set size so far in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def describe() -> dict[str, Any]:
    """Return a JSON-able description of the machine and software."""
    info: dict[str, Any] = {
        'cpu_model': cpu_model(),
        'cpu_count': os.cpu_count(),
        'usable_cores': usable_cores(),
        'load_average_1_5_15': load_average(),
        'platform': platform.platform(),
        'python': platform.python_version(),
        'torch': torch.__version__,
        'torch_threads': torch.get_num_threads(),
        'torch_interop_threads': torch.get_num_interop_threads(),
        'numpy': np.__version__,
        'opencv': cv2.__version__,
        'opencv_threads': cv2.getNumThreads(),
        'cuda': None,
    }
    if torch.cuda.is_available():
        info['cuda'] = {
            'device': torch.cuda.get_device_name(0),
            'version': torch.version.cuda,
            'count': torch.cuda.device_count(),
        }
    return info
