# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""grasp-train label: attempts from gaps or a trigger topic, proposals, the file, the sheet."""

from __future__ import annotations

import json
from pathlib import Path
import re

from bag_factory import write_unlabelled_bag
import cv2
from grasp_classifier_ros.bag import evaluate_bag
from grasp_classifier_ros.bag.labels import load_intervals, resolve_intervals
from grasp_classifier_ros.bag.recordings import iter_frames
from grasp_classifier_ros.bag.sheets import BAR, GREEN, RED
from grasp_classifier_training.cli import main
from grasp_classifier_training.data import scan_sources
from grasp_classifier_training.label import TILE
from model_factory import (
    BottomBrightModel,
    brightness_metadata,
    flat_probability,
    write_model,
)
import numpy as np
import pytest
from toy_data import make_bags, make_images, make_start_model, needs_weights
import yaml

NS = 1_000_000_000
T0 = 1_700_000_000 * NS
# Four attempts of 5 frames at 10 Hz, 1.5 s apart (gaps of 1.1 s), as (grey values):
# the model judges the last 3 frames of each, so the first two never count.
ATTEMPTS = [
    [40, 40, 200, 200, 200],  # held at the end: success, sure
    [200, 200, 40, 40, 40],  # dropped: failure, sure
    [40, 40, 140, 140, 140],  # success, unsure (p 0.62)
    [200, 200, 110, 110, 110],  # failure, unsure (p 0.33)
]


def frames_of(attempts: list[list[int]], spacing_s: float = 1.5) -> list[tuple[float, int]]:
    return [
        (k * spacing_s + i / 10, v) for k, vals in enumerate(attempts) for i, v in enumerate(vals)
    ]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_model(tmp_path / 'bright.pt')  # p(success) = flat_probability(grey)


@pytest.fixture
def bag(tmp_path: Path) -> Path:
    return write_unlabelled_bag(tmp_path / 'run1', frames_of(ATTEMPTS))


def episodes_in(path: Path) -> list[dict]:
    return [dict(e) for e in yaml.safe_load(path.read_text())['episodes']]


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith('grasp-train label: error: '), err
    return err[0].removeprefix('grasp-train label: error: ')


def test_label_splits_at_gaps_and_proposes_what_the_model_sees_last(bag, model, capsys):
    assert main(['label', str(bag), '--model', str(model)]) == 0
    out = capsys.readouterr().out
    sidecar = bag.with_name('run1.labels.yaml')  # the default: what every reader looks for
    eps = episodes_in(sidecar)
    assert [(e['name'], e['start'], e['end']) for e in eps] == [
        ('episode_0', 0.0, 0.4),
        ('episode_1', 1.5, 1.9),
        ('episode_2', 3.0, 3.4),
        ('episode_3', 4.5, 4.9),
    ]
    assert [e['label'] for e in eps] == ['success', 'failure', 'success', 'failure']
    assert [e['proposed'] for e in eps] == [e['label'] for e in eps]
    p = [flat_probability(v[-1]) for v in ATTEMPTS]
    assert [e['confidence'] for e in eps] == [round(max(q, 1 - q), 3) for q in p]
    text = sidecar.read_text()
    assert 'labels PROPOSED by grasp-train label: confirm or' in text
    assert len(re.findall(r'  # sheet row \d: confirm or flip$', text, re.M)) == 4
    assert sidecar.with_suffix('.png').is_file()
    assert '4 attempts split at gaps > 0.5 s between frames (0 frames in none)' in out
    assert '2 success, 2 failure; 2 below 0.90 confidence' in out
    # a longer --gap joins them all; judging more frames changes the confidence
    one = bag.parent / 'one.labels.yaml'
    assert main(['label', str(bag), '--model', str(model), '--gap', '2', '--out', str(one)]) == 0
    assert [(e['start'], e['end']) for e in episodes_in(one)] == [(0.0, 4.9)]
    assert (
        f"is not the sidecar '{sidecar}': read it with --labels {one}" in capsys.readouterr().out
    )
    five = bag.parent / 'five.labels.yaml'
    argv = [
        'label',
        str(bag),
        '--model',
        str(model),
        '--frames-per-episode',
        '5',
        '--out',
        str(five),
    ]
    assert main(argv) == 0
    mean = np.mean([flat_probability(v) for v in ATTEMPTS[0]])  # 2 dark frames count now
    assert episodes_in(five)[0]['confidence'] == round(mean, 3) == 0.58
    assert episodes_in(five)[0]['label'] == 'success'


def test_label_splits_at_trigger_messages(tmp_path, model, capsys):
    # 5 s of frames at 10 Hz without a gap: only the trigger topic tells the attempts apart
    frames = [(i / 10, 200 if (i // 10) % 2 else 40) for i in range(50)]
    onoff = [(0.5, True), (1.45, False), (2.0, True), (3.0, True), (3.95, False)]
    bag = write_unlabelled_bag(tmp_path / 'bool', frames, onoff)
    argv = ['label', str(bag), '--model', str(model), '--trigger-topic', '/grasp/attempt']
    assert main(argv) == 0
    eps = episodes_in(tmp_path / 'bool.labels.yaml')
    assert [(e['start'], e['end'], e['label']) for e in eps] == [
        (0.5, 1.4, 'success'),  # last frames 1.2-1.4: grey 200
        (2.0, 2.9, 'failure'),  # ended by the next true
        (3.0, 3.9, 'success'),
    ]
    assert (
        '3 attempts split at /grasp/attempt messages (20 frames in none)'
        in capsys.readouterr().out
    )
    # std_msgs/Empty: every message starts one; the last runs to the end of the recording
    empty = write_unlabelled_bag(tmp_path / 'empty', frames, [(1.0, None), (2.05, None)])
    assert (
        main(['label', str(empty), '--model', str(model), '--trigger-topic', '/grasp/attempt'])
        == 0
    )
    eps = episodes_in(tmp_path / 'empty.labels.yaml')
    assert [(e['start'], e['end']) for e in eps] == [(1.0, 2.0), (2.1, 4.9)]


def test_the_sheet_puts_the_least_confident_attempts_first(bag, model):
    assert (
        main(['label', str(bag), '--model', str(model), '--sheet', str(bag.parent / 's.png')]) == 0
    )
    eps = episodes_in(bag.with_name('run1.labels.yaml'))
    rows = [
        int(m)
        for m in re.findall(r'# sheet row (\d+)', bag.with_name('run1.labels.yaml').read_text())
    ]
    by_row = [eps[rows.index(r)] for r in range(1, 5)]
    assert [e['name'] for e in by_row] == ['episode_2', 'episode_3', 'episode_0', 'episode_1']
    assert [e['confidence'] for e in by_row] == sorted(e['confidence'] for e in eps)
    png = cv2.imread(str(bag.parent / 's.png'))
    # 4 rows of 1 + 3 tiles, each a thumbnail with 3 caption bars, under a 24 px title
    h = TILE + 3 * BAR
    assert png.shape[0] == 24 + 4 * (h + 2) and png.shape[1] >= 4 * (TILE + 2)
    # each row's first tile is outlined in its proposal's colour
    outline = [tuple(png[24 + r * (h + 2) + 1, 1]) for r in range(4)]
    expected = [GREEN if e['label'] == 'success' else RED for e in by_row]
    assert outline == expected


def test_proposals_see_the_frames_through_the_nodes_camera_view(tmp_path, capsys):
    """A bottom-bright model on frames bright on the left: success only when turned 270."""
    model = write_model(tmp_path / 'bottom.pt', BottomBrightModel(), brightness_metadata(16))
    from grasp_classifier_ros.bag.make_bag import BagSpec, SourceEpisode, SourceFrame, write_bag

    left = np.full((24, 32, 3), 20, np.uint8)
    left[:, :16] = 230
    eps = [SourceEpisode(f'e{k}', True, [SourceFrame(rgb=left)] * 3) for k in range(2)]
    bag = write_bag(tmp_path / 'turned', eps, BagSpec(fps=10.0, label_topic='')).path
    params = tmp_path / 'params.yaml'
    params.write_text('grasp_classifier:\n  ros__parameters:\n    image_rotation: 270\n')
    for extra, want in (([], 0.5), (['--params', str(params)], 'success')):
        out = tmp_path / f'{len(extra)}.labels.yaml'
        assert main(['label', str(bag), '--model', str(model), '--out', str(out), *extra]) == 0
        got = episodes_in(out)
        assert len(got) == 2
        if want == 'success':
            assert {e['label'] for e in got} == {'success'} and got[0]['confidence'] > 0.99
            assert 'image_rotation 270' in out.read_text()
            # the sheet shows the model's view: turned, the bright half at the bottom
            thumb = cv2.imread(str(out.with_suffix('.png')))[24 + 4 : 24 + TILE - 4, 4 : TILE - 4]
            half = thumb.shape[0] // 2
            assert thumb[half:].mean() > 150 > 50 > thumb[:half].mean()
        else:  # upright: the bright half is left, the bottom no brighter than the top
            assert {e['confidence'] for e in got} == {0.5}


def test_edited_labels_round_trip_into_every_reader(bag, model, tmp_path, capsys):
    assert main(['label', str(bag), '--model', str(model)]) == 0
    sidecar = bag.with_name('run1.labels.yaml')
    # the person flips attempt 3 (the model was unsure) and deletes attempt 1's line
    lines = sidecar.read_text().splitlines()
    lines = [
        ln.replace('label: failure', 'label: success') if 'episode_3' in ln else ln
        for ln in lines
        if 'episode_1' not in ln
    ]
    sidecar.write_text('\n'.join(lines) + '\n')
    truth = [True] * 5 + [True] * 5 + [True] * 5  # attempts 0, 2, 3
    frames = list(iter_frames(bag))
    assert [f.label for f in frames] == truth and [f.episode for f in frames] == [0] * 5 + [
        1
    ] * 5 + [2] * 5
    assert [f.key for f in frames][5] == 'run1/000010'  # attempt 1's frames are left out
    (ds,) = scan_sources([bag])  # what cv, train and adapt read
    assert len(ds.samples) == 15 and {s.class_name for s in ds.samples} == {'grasped'}
    ev = tmp_path / 'ev'
    assert (
        main(
            [
                'evaluate',
                str(
                    write_model(
                        tmp_path / 'g.pt',
                        meta=brightness_metadata(class_names=('notgrasped', 'grasped')),
                    )
                ),
                str(bag),
                '--out',
                str(ev),
                '--no-progress',
            ]
        )
        == 0
    )
    assert json.loads((ev / 'metrics.json').read_text())['n'] == 15
    rep = tmp_path / 'eb'
    assert (
        evaluate_bag.main(
            [str(bag), '--model', str(model), '--out', str(rep), '--no-plot', '--quiet']
        )
        == 0
    )
    metrics = json.loads((rep / 'metrics.json').read_text())
    assert metrics['labels']['episodes_source'] == str(sidecar)
    assert metrics['episodes']['labelled'] == 3 and metrics['episodes']['correct'] == 2
    assert metrics['frames']['total'] == 20 and metrics['frames']['labelled_fresh'] == 15


@needs_weights
def test_adapt_reads_the_labels_written_for_unlabelled_bags(tmp_path, capsys):
    start = make_start_model(
        tmp_path / 'start.pt', make_images(tmp_path / 'imgs', groups=4, per_group=4)
    )
    bags = make_bags(tmp_path / 'robot', bags=3, episodes=4, frames=3, label_topic='', corner=True)
    for b, path in enumerate(bags):
        assert main(['label', str(path), '--model', str(start)]) == 0
        sidecar = path.with_name(path.name + '.labels.yaml')
        # the person sets every label to what happened (make_bags: held when (e + b) is even)
        fixed = [
            re.sub(r'label: \w+', f'label: {"success" if (e + b) % 2 == 0 else "failure"}', ln)
            if (e := _episode_of(ln)) is not None
            else ln
            for ln in sidecar.read_text().splitlines()
        ]
        sidecar.write_text('\n'.join(fixed) + '\n')
    out = tmp_path / 'adapt'
    argv = ['adapt', *map(str, bags), '--out', str(out), '--from', str(start), '--force']
    assert main([*argv, '--set', 'adapt.method=probe', '--set', 'adapt.views=2']) == 0
    r = json.loads((out / 'report.json').read_text())
    assert r['frames'] == 36 and r['recordings'] == 3 and r['episodes'] == 12


def _episode_of(line: str) -> int | None:
    m = re.match(r'- \{name: episode_(\d+),', line)
    return None if m is None else int(m.group(1))


def test_a_video_is_one_attempt_whose_labels_the_reader_takes(tmp_path, model):
    video = tmp_path / 'grasp3.avi'
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'MJPG'), 10.0, (32, 32))
    for v in [40] * 5 + [220] * 5:
        w.write(np.full((32, 32, 3), v, np.uint8))
    w.release()
    assert main(['label', str(video), '--model', str(model)]) == 0
    sidecar = tmp_path / 'grasp3.labels.yaml'
    f = load_intervals(sidecar)
    episodes, base = resolve_intervals(f, 0, 10 * NS)
    assert base == 'relative' and f.bag_start_ns == 0
    assert [(e.start_ns, e.end_ns, e.success) for e in episodes] == [(0, 900_000_000, True)]
    assert len(list(iter_frames(video))) == 10


def test_expected_failures_are_one_line(bag, model, tmp_path, capsys):
    empty = write_unlabelled_bag(tmp_path / 'none', [], [(0.0, True)])
    assert main(['label', str(empty), '--model', str(model)]) == 2
    assert one_error(capsys) == f"'{empty}': the image topic /camera/image_raw has no frames"
    argv = ['label', str(bag), '--model', str(model)]
    assert main([*argv, '--trigger-topic', '/go']) == 2
    assert one_error(capsys).startswith("trigger topic '/go' is not in the bag; topics: ")
    late = write_unlabelled_bag(tmp_path / 'late', frames_of(ATTEMPTS[:1]), [(9.0, True)])
    assert (
        main(['label', str(late), '--model', str(model), '--trigger-topic', '/grasp/attempt']) == 2
    )
    assert one_error(capsys) == (
        f"'{late}': no frame falls in an attempt (at /grasp/attempt messages: 1 messages, "
        '5 frames)'
    )
    assert main([*argv, '--trigger-topic', '/go', '--gap', '1']) == 2
    assert one_error(capsys) == '--gap splits at gaps, --trigger-topic at its messages: give one'
    bad = tmp_path / 'bad.yaml'
    bad.write_text('image_rotation: 45\n')
    assert main([*argv, '--params', str(bad)]) == 2
    assert 'image_rotation' in one_error(capsys)
    assert main([*argv, '--params', str(tmp_path / 'missing.yaml')]) == 2
    assert "params file '" in one_error(capsys)
    assert main(argv) == 0
    capsys.readouterr()
    sidecar = bag.with_name('run1.labels.yaml')
    before = sidecar.read_text()
    assert main(argv) == 2
    assert one_error(capsys) == (
        f"'{sidecar}' already exists (labels someone may have checked): pass --overwrite "
        'to replace it, or --out another file'
    )
    assert sidecar.read_text() == before
    assert main([*argv, '--overwrite']) == 0
