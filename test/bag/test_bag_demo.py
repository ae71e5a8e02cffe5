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
"""The shipped demo bag is what data/demo/README.md says, and evaluate_bag reads it."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_classifier_ros.bag.evaluate_bag import main
from grasp_classifier_ros.bag.io import BagReader
from grasp_classifier_ros.bag.labels import load_intervals, resolve_intervals
from model_factory import brightness_metadata, write_model

DEMO = Path(__file__).resolve().parents[2] / 'data' / 'demo' / 'grasp_demo'
NS = 1_000_000_000


def test_demo_bag_contents() -> None:
    size = sum(f.stat().st_size for f in DEMO.iterdir())
    assert size < 5_000_000
    with BagReader(DEMO) as r:
        assert r.storage == 'mcap'
        assert {t: (i.msgtype, i.count) for t, i in r.topics.items()} == {
            '/camera/image_raw/compressed': ('sensor_msgs/msg/CompressedImage', 600),
            '/grasp/label': ('std_msgs/msg/Bool', 600),
        }
        assert r.start_ns == 1_700_000_000 * NS
        eps, base = resolve_intervals(load_intervals(DEMO / 'episodes.yaml'), r.start_ns, r.end_ns)
    assert base == 'relative'
    assert len(eps) == 8
    assert sum(1 for e in eps if e.success) == 4


def test_demo_bag_evaluates(tmp_path: Path) -> None:
    model = write_model(tmp_path / 'm.pt', meta=brightness_metadata(64))
    out = tmp_path / 'report'
    rc = main([str(DEMO), '--model', str(model), '--out', str(out), '--no-plot', '--quiet'])
    assert rc == 0
    m = json.loads((out / 'metrics.json').read_text())
    assert m['frames']['by_status'] == {'ok': 600}
    assert m['classification']['count'] == 600
    assert m['episodes']['count'] == 8
    assert m['episodes']['no_verdict'] == 0
