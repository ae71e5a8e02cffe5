# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Put the runtime's test factories (test/support) on the path, however pytest is started."""

from __future__ import annotations

from pathlib import Path
import sys

SUPPORT = Path(__file__).resolve().parents[2] / 'test' / 'support'
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))
