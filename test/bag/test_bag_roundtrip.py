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
"""make_bag -> evaluate_bag round trips with exactly known probabilities."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bag_factory import make_flat_bag, ROUND_TRIP, values_of
from grasp_classifier_ros.bag.evaluate_bag import main
from grasp_classifier_ros.bag.io import BagReader
from model_factory import flat_probability, write_model
import pytest


@pytest.fixture(scope='module')
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp('model') / 'brightness.pt')


def expected_frames() -> list[tuple[bool, float]]:
    return [(ok, flat_probability(v)) for ok, v in values_of(ROUND_TRIP)]


def pairwise_auc(rows: list[tuple[bool, float]]) -> float:
    pos = [p for ok, p in rows if ok]
    neg = [p for ok, p in rows if not ok]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    ('storage', 'transport'),
    [('mcap', 'bgr8'), ('sqlite3', 'rgb8'), ('mcap', 'png'), ('sqlite3', 'png')],
)
def test_round_trip_metrics_are_exact(
    tmp_path: Path, model: Path, storage: str, transport: str
) -> None:
    compressed = transport == 'png'
    bag = tmp_path / 'bag'
    made = make_flat_bag(
        bag,
        storage=storage,
        compressed=compressed,
        encoding='bgr8' if compressed else transport,
    )
    assert made.frames == 24 and len(made.episodes) == 4
    with BagReader(bag) as r:
        assert r.storage == storage
        image_type = 'sensor_msgs/msg/CompressedImage' if compressed else 'sensor_msgs/msg/Image'
        assert {t: (i.msgtype, i.count) for t, i in r.topics.items()} == {
            made_topic(compressed): (image_type, 24),
            '/grasp/label': ('std_msgs/msg/Bool', 24),
        }
    out = tmp_path / 'report'
    assert main([str(bag), '--model', str(model), '--out', str(out), '--no-plot', '--quiet']) == 0

    m = json.loads((out / 'metrics.json').read_text())
    cls = m['classification']
    # per ROUND_TRIP: failure frames 10 right + 2 false successes; success frames 9 + 3 misses
    assert cls['confusion_matrix']['matrix'] == [[10, 2], [3, 9]]
    assert cls['accuracy'] == pytest.approx(19 / 24)
    assert cls['precision'] == pytest.approx(9 / 11)
    assert cls['recall'] == pytest.approx(9 / 12)
    assert cls['f1'] == pytest.approx(2 * 9 / (2 * 9 + 2 + 3))
    assert cls['per_class_accuracy'] == {
        'failure': pytest.approx(10 / 12),
        'success': pytest.approx(9 / 12),
    }
    assert cls['roc_auc'] == pytest.approx(pairwise_auc(expected_frames()))
    assert m['frames']['by_status'] == {'ok': 24}
    assert m['frames']['dropped'] == 0
    assert m['episodes']['accuracy'] == 1.0
    assert m['episodes']['correct'] == 4
    assert m['mode'] == 'fast'
    assert set(m['latency_ms']) >= {'decode', 'preprocess', 'inference', 'decision', 'total'}
    assert m['latency_ms']['total']['count'] == 24

    rows = read_csv(out / 'frames.csv')
    assert len(rows) == 24
    for row, (ok, p) in zip(rows, expected_frames()):
        assert row['label'] == ('success' if ok else 'failure')
        assert row['status'] == 'ok'
        assert float(row['probability']) == pytest.approx(p, abs=1e-6)
        assert row['predicted'] == ('success' if p >= 0.5 else 'failure')
        assert float(row['age_ms']) == pytest.approx(10.0)  # fast mode: nominal latency
    assert [r['episode'] for r in rows] == [str(i // 6) for i in range(24)]

    eps = read_csv(out / 'episodes.csv')
    assert [(e['label'], e['verdict'], e['correct']) for e in eps] == [
        ('success', 'success', '1'),
        ('failure', 'failure', '1'),
        ('success', 'success', '1'),
        ('failure', 'failure', '1'),
    ]
    # ~/check over the last 3 fresh frames: ep2's last three are grey 230
    assert float(eps[2]['mean_probability']) == pytest.approx(flat_probability(230), abs=1e-4)


def made_topic(compressed: bool) -> str:
    return '/camera/image_raw/compressed' if compressed else '/camera/image_raw'


def test_labels_file_overrides_topic_and_plot_is_written(tmp_path: Path, model: Path) -> None:
    bag = tmp_path / 'bag'
    make_flat_bag(bag)
    labels = tmp_path / 'flipped.csv'
    # relative to the bag start; episode 0 relabelled failure, the rest unlabelled
    labels.write_text('# time_base: relative\nstart,end,label\n-0.01,0.2,failure\n')
    out = tmp_path / 'report'
    rc = main([str(bag), '--model', str(model), '--labels', str(labels), '--out', str(out)])
    assert rc == 0
    m = json.loads((out / 'metrics.json').read_text())
    assert m['classification']['confusion_matrix']['matrix'] == [[0, 6], [0, 0]]
    assert m['episodes']['count'] == 1 and m['episodes']['correct'] == 0
    assert m['labels']['time_base'] == 'relative'
    rows = read_csv(out / 'frames.csv')
    assert [r['label'] for r in rows] == ['failure'] * 6 + [''] * 18
    assert (out / 'timeline.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_no_labels_still_reports(tmp_path: Path, model: Path) -> None:
    bag = tmp_path / 'bag'
    make_flat_bag(bag, label_topic='/other/label')
    (bag / 'episodes.yaml').unlink()
    out = tmp_path / 'report'
    rc = main([str(bag), '--model', str(model), '--out', str(out), '--no-plot', '--quiet'])
    assert rc == 0
    m = json.loads((out / 'metrics.json').read_text())
    assert m['labels']['source'] == 'none'
    assert m['classification']['count'] == 0
    assert m['frames']['fresh'] == 24
    assert m['episodes']['count'] == 0


def test_out_bag_then_recorded_scoring_agree(tmp_path: Path, model: Path) -> None:
    bag = tmp_path / 'bag'
    make_flat_bag(bag, compressed=True)
    out1, out2, annotated = tmp_path / 'r1', tmp_path / 'r2', tmp_path / 'annotated'
    args = ['--model', str(model), '--no-plot', '--quiet']
    assert main([str(bag), *args, '--out', str(out1), '--out-bag', str(annotated)]) == 0
    with BagReader(annotated) as r:
        counts = {t: i.count for t, i in r.topics.items()}
    assert counts == {
        '/camera/image_raw/compressed': 24,
        '/grasp/label': 24,
        '/grasp/success': 24,
        '/grasp/confidence': 24,
        '/grasp/result': 24,
        '/grasp/label_info': 1,
    }
    rc = main(
        [str(annotated), '--recorded', '--labels', str(bag / 'episodes.yaml'), '--out', str(out2)]
        + ['--no-plot', '--quiet']
    )
    assert rc == 0
    m1 = json.loads((out1 / 'metrics.json').read_text())
    m2 = json.loads((out2 / 'metrics.json').read_text())
    assert m2['classification'] == m1['classification']
    assert m2['episodes']['correct'] == m1['episodes']['correct'] == 4
