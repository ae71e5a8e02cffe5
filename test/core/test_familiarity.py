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
"""The out-of-depth monitor (core/familiarity.py) and its record (metadata.FamiliarityRecord)."""

from __future__ import annotations

import json
import time

from grasp_classifier_ros.core import camera_geometry
from grasp_classifier_ros.core import familiarity as fam
from grasp_classifier_ros.core.decision import DecisionConfig
from grasp_classifier_ros.core.errors import MetadataError
from grasp_classifier_ros.core.metadata import FAMILIARITY_FILE, FamiliarityRecord, GeometryNet
from grasp_classifier_ros.core.model import load_model, read_familiarity, save_model
from grasp_classifier_ros.core.mount import Mount
from grasp_classifier_ros.core.pipeline import Pipeline
from grasp_classifier_ros.core.preprocess import crop_resize
from model_factory import (
    brightness_metadata,
    BrightnessModel,
    familiarity_record,
    gripper_sessions,
    write_familiar_model,
    write_model,
)
from msg_factory import make_image
import numpy as np
import pytest
import torch

META = brightness_metadata(size=32)


@pytest.fixture(scope='module')
def record() -> FamiliarityRecord:
    return familiarity_record(META)


def inputs(seed: int = 7, turn: int = 0) -> list[np.ndarray]:
    """Unseen rendered frames as model inputs, turned ``turn`` quarter turns clockwise."""
    frames = [f for run in gripper_sessions(2, frames=20, seed=seed) for f in run]
    return [np.ascontiguousarray(np.rot90(crop_resize(f, 'rgb', META), -turn)) for f in frames]


def test_thumbnail_is_the_area_mean_in_rgb() -> None:
    img = np.zeros((16, 16, 3), np.uint8)
    img[:8, :, 0] = 255  # red top half
    t = fam.thumbnail(img, 'rgb', grid=2).reshape(2, 2, 3)
    assert t[0, :, 0].tolist() == [1.0, 1.0] and t[1, :, 0].tolist() == [0.0, 0.0]
    bgr = fam.thumbnail(img[:, :, ::-1].copy(), 'bgr', grid=2)
    assert np.array_equal(bgr, fam.thumbnail(img, 'rgb', grid=2))


def test_distances_are_about_one_on_the_training_rows() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 12)) * np.arange(1, 13)
    mean, white = fam.fit_statistics(x, shrinkage=0.0)
    assert fam.distances(x, mean, white).mean() == pytest.approx(1.0, rel=0.01)


def test_turned_rows_are_quarter_turns_clockwise() -> None:
    t = np.arange(2 * 2 * 3, dtype=np.float32).reshape(1, 2, 2, 3)
    turns = fam.turned(t.reshape(1, -1), grid=2).reshape(4, 2, 2, 3)
    for k in range(4):
        assert np.array_equal(turns[k], np.rot90(t[0], -k))


def test_window_medians() -> None:
    assert fam.window_medians(np.array([1.0, 5.0, 2.0, 8.0]), 3).tolist() == [2.0, 5.0]
    assert fam.window_medians(np.array([1.0, 3.0]), 30).tolist() == [2.0]


def test_fit_record_needs_two_sessions() -> None:
    x = fam.thumbnails(inputs()[:10])
    with pytest.raises(fam.FamiliarityError, match='at least 2 sessions'):
        fam.fit_record(x, ['one'] * 10)


def test_record_round_trip_and_limits(record: FamiliarityRecord) -> None:
    again = FamiliarityRecord.from_json(record.to_json())
    assert again == record
    assert record.dim == 192 and record.whitening_matrix().shape == (192, 192)
    assert record.threshold > 0 and record.orientation_threshold >= fam.ORIENTATION_FLOOR
    assert record.groups == 12 and record.images == 96


@pytest.mark.parametrize(
    ('change', 'match'),
    [
        ({'format': 3}, 'format 3 is not supported'),
        ({'format': 1}, 'geometry checks need format 2'),
        ({'surprise': 1}, 'unknown fields'),
        ({'threshold': -1.0}, "'threshold'"),
        ({'orientation_threshold': 0.5}, "'orientation_threshold'"),
        ({'mean': [0.0] * 5}, "'mean'"),
        ({'whitening': 'AAAA'}, "'whitening'"),
        ({'whitening': '***'}, 'not base64'),
    ],
)
def test_bad_records_are_refused(record: FamiliarityRecord, change, match) -> None:
    data = {**json.loads(record.to_json()), **change}
    with pytest.raises(MetadataError, match=match):
        FamiliarityRecord.from_json(json.dumps(data))


def test_monitor_is_quiet_on_upright_frames_and_fires_on_turned_ones(record) -> None:
    monitor = fam.FamiliarityMonitor(record, window=10)
    assert monitor.state().status == 'collecting'
    for x in inputs():
        monitor.observe(x)
    state = monitor.state()
    assert state.status == 'familiar', state.message
    monitor.reset()
    for x in inputs(turn=1):
        monitor.observe(x)
    state = monitor.state()
    assert state.unfamiliar and state.turn == 3
    assert state.message.startswith(fam.REASON)
    assert 'try image_rotation 270' in state.message
    assert dict(state.values())['familiarity'] == 'unfamiliar'


@pytest.mark.parametrize(
    'warp',
    [lambda x: camera_geometry._pitch(x, -0.45, 0.4), lambda x: camera_geometry._zoom(x, 1.5)],
    ids=['pitched down', 'narrower lens'],
)
def test_the_geometry_checks_fire_on_a_pitched_camera_or_another_lens(record, warp) -> None:
    """Wiring, on rendered frames; real-data rates: benchmarks/familiarity.py."""
    monitor = fam.FamiliarityMonitor(record, window=20)
    for x in inputs()[:20]:
        monitor.observe(x)
    state = monitor.state()
    assert state.status == 'familiar' and state.geometry == '', state.message
    assert state.geometry_score is not None and state.geometry_score <= 1.0
    monitor.reset()
    for x in inputs()[:20]:
        monitor.observe(warp(x))
    state = monitor.state()
    names = record.geometry.names
    assert state.unfamiliar and state.geometry in names and state.turn == 0, state.message
    assert f"the view's geometry differs from training, most like a camera {state.geometry}" in (
        state.message
    )
    assert dict(state.values())['familiarity geometry'] == state.geometry


def test_the_geometry_limits_come_from_sessions_left_out(record) -> None:
    """Each check's limit is the worst out-of-fold window of the training sessions: score 1."""
    oof = record.details['geometry']['out_of_fold']
    net = record.geometry
    for k, name in enumerate(net.names):
        assert net.threshold[k] == pytest.approx(oof[name]['window_median_max'], abs=1e-3)
        assert net.center[k] == pytest.approx(oof[name]['center'], abs=1e-3)
    w1, b1, w2, b2 = net.arrays()
    assert w1.shape == (3 * 16 * 16, net.hidden) and w2.shape == (net.hidden, len(net.names) + 1)


def test_the_geometry_fit_is_reproducible() -> None:
    frames = inputs()[:24]
    groups = [f'g{i // 4}' for i in range(24)]
    a = fam.fit_record_from_images(frames, groups, window=4)
    b = fam.fit_record_from_images(frames, groups, window=4)
    assert a.geometry == b.geometry and a.geometry is not None


def test_a_format_1_record_without_geometry_still_loads(record) -> None:
    data = json.loads(record.to_json())
    data['geometry'] = None
    data['format'] = 1
    old = FamiliarityRecord.from_json(json.dumps(data))
    assert old.geometry is None and old.format == 1
    del data['geometry']
    assert json.loads(old.to_json()) == data  # written back as format 1 writes it
    monitor = fam.FamiliarityMonitor(old, window=10)
    for x in inputs()[:10]:
        monitor.observe(x)
    state = monitor.state()
    assert state.status == 'familiar' and state.geometry_score is None
    assert monitor.scores().shape == (10, 3)


def test_a_broken_geometry_network_is_refused(record) -> None:
    data = json.loads(record.to_json())
    net = data['geometry']
    for change, match in [
        ({'weights1': 'AAAA'}, 'geometry weights1'),
        ({'bias2': '***'}, 'not base64'),
        ({'threshold': [c - 1.0 for c in net['center']]}, 'geometry threshold'),
        ({'center': [0.0]}, 'geometry center'),
        ({'grid': 8}, 'geometry weights1'),
        ({'hidden': 0}, 'geometry hidden'),
        ({'names': []}, 'geometry names'),
    ]:
        data['geometry'] = {**net, **change}
        with pytest.raises(MetadataError, match=match):
            FamiliarityRecord.from_json(json.dumps(data))
    data['geometry'] = [net]
    with pytest.raises(MetadataError, match="'geometry' must be an object"):
        FamiliarityRecord.from_json(json.dumps(data))
    with pytest.raises(MetadataError, match='geometry names'):
        GeometryNet((), 16, 4, '', '', '', '', (), ())


def test_pitch_moves_the_scene_down_and_narrows_the_top() -> None:
    img = np.zeros((40, 40, 3), np.uint8)
    img[20:, :] = 255  # a bright lower half
    up = camera_geometry._pitch(img, 0.4, 0.5)
    down = camera_geometry._pitch(img, -0.4, 0.5)
    # pitched up the view looks lower into the scene: more bright rows; down, fewer
    assert (up[:, 20, 0] > 127).sum() > 20 > (down[:, 20, 0] > 127).sum()


def test_the_suggestion_follows_the_mount(record) -> None:
    monitor = fam.FamiliarityMonitor(record, window=10, mount=Mount(90, False))
    for x in inputs(turn=1):
        monitor.observe(x)
    assert 'try image_rotation 0' in monitor.state().message
    monitor.configure(mount=Mount(90, True))
    assert 'try image_rotation 180' in monitor.state().message


def test_scale_and_window(record) -> None:
    monitor = fam.FamiliarityMonitor(record, window=5, scale=0.0)
    assert monitor.observe(inputs()[0]) is None
    assert monitor.state().status == 'off'
    monitor.configure(scale=1.0)
    for x in inputs()[:5]:
        monitor.observe(x)
    assert monitor.state().status == 'familiar'
    monitor.configure(window=8)  # another window: judged afresh
    assert monitor.state().frames == 0
    monitor.configure(scale=100.0)
    for x in inputs(turn=2)[:8]:
        monitor.observe(x)
    assert monitor.state().status == 'familiar'  # limits x 100


def test_no_record_says_so_and_never_fails() -> None:
    monitor = fam.FamiliarityMonitor(None)
    assert monitor.observe(inputs()[0]) is None
    state = monitor.state()
    assert (state.status, state.unfamiliar) == ('no_reference', False)
    assert state.message == fam.NO_REFERENCE


def test_model_file_round_trip(tmp_path, record) -> None:
    plain = write_model(tmp_path / 'plain.pt', meta=META)
    assert read_familiarity(plain) is None
    assert load_model(plain, device='cpu').familiarity is None
    path = write_familiar_model(tmp_path / 'familiar.pt', meta=META)
    assert load_model(path, device='cpu').familiarity == record


def test_a_broken_record_is_warned_about_and_ignored(tmp_path) -> None:
    scripted = torch.jit.script(BrightnessModel())
    path = save_model(scripted, META, tmp_path / 'm.pt', {FAMILIARITY_FILE: b'{"format": 9}'})
    with pytest.warns(UserWarning, match='ignoring its reference statistics'):
        model = load_model(path, device='cpu')
    assert model.familiarity is None


def test_pipeline_scores_classified_frames(tmp_path) -> None:
    model = load_model(write_familiar_model(tmp_path / 'm.pt', meta=META), device='cpu')
    pipe = Pipeline(model, decision=DecisionConfig(threshold=0.5), familiarity=(10, 1.0))
    frames = [f for run in gripper_sessions(2, frames=10, seed=5) for f in run]
    for i, f in enumerate(frames):
        r = pipe.process(make_image(f, 'rgb8', stamp_ns=i + 1), now_ns=i + 1)
        assert r.status == 'ok' and 'familiarity' in r.timings_ms
    assert pipe.familiarity.state().status == 'familiar'
    pipe.configure(pipe.decision, pipe.roi, pipe.max_pixels, Mount(90), (10, 1.0))
    assert pipe.familiarity.state().status == 'collecting'  # a new mount: judged afresh
    for i, f in enumerate(frames):
        pipe.process(make_image(f, 'rgb8', stamp_ns=100 + i), now_ns=100 + i)
    state = pipe.familiarity.state()
    assert state.unfamiliar and 'try image_rotation 0' in state.message


def test_per_frame_cost_is_far_below_a_tenth_of_a_millisecond(record) -> None:
    monitor = fam.FamiliarityMonitor(record, window=30)
    x = inputs()[0]
    for _ in range(50):
        monitor.observe(x)
    t0 = time.perf_counter()
    for _ in range(500):
        monitor.observe(x)
    per_frame_ms = (time.perf_counter() - t0) / 500 * 1e3
    assert per_frame_ms < 0.5  # ~0.01 ms alone, 0.04-0.06 in make bench on a loaded 2-core VM


def test_the_monitor_scores_frames_as_fit_record_does(record) -> None:
    """One scoring for fitting, benchmarks and the node: ``turn_distances`` of thumbnails."""
    frames = inputs()[:12]
    assert record.geometry is not None
    assert record.geometry.names == tuple(camera_geometry.PERTURBATIONS)
    monitor = fam.FamiliarityMonitor(record, window=12)
    bgr = fam.FamiliarityMonitor(record, window=12, color_order='bgr')
    for x in frames:
        monitor.observe(x)
        bgr.observe(np.ascontiguousarray(x[:, :, ::-1]))
    mean = np.asarray(record.mean, np.float32)
    turns = fam.turn_distances(fam.thumbnails(frames), mean, record.whitening_matrix())
    ratio, best = fam.orientation_ratio(turns)
    fine = camera_geometry.fine_thumbnails(np.stack([fam.shrink(x) for x in frames]))
    geometry = camera_geometry.scores(fine, record.geometry)
    expected = np.concatenate([np.stack([turns[:, 0], ratio, best], axis=1), geometry], axis=1)
    assert np.allclose(monitor.scores(), expected, rtol=1e-5)
    assert np.allclose(bgr.scores(), expected, rtol=1e-5)
    assert np.allclose(monitor.scores(), expected, rtol=1e-5)  # scored once, kept


def test_a_hot_reload_brings_the_new_models_statistics(tmp_path) -> None:
    familiar = load_model(write_familiar_model(tmp_path / 'f.pt', meta=META), device='cpu')
    plain = load_model(write_model(tmp_path / 'p.pt', meta=META), device='cpu')
    pipe = Pipeline(familiar, decision=DecisionConfig(threshold=0.5), familiarity=(7, 2.0))
    pipe.swap_model(plain, pipe.decision)
    assert pipe.familiarity.state().status == 'no_reference'
    pipe.swap_model(familiar, pipe.decision)
    assert (pipe.familiarity.window, pipe.familiarity.scale) == (7, 2.0)
    assert pipe.familiarity.state().status == 'collecting'


def test_a_kept_stream_is_judged_window_by_window(record) -> None:
    monitor = fam.FamiliarityMonitor(record, window=10)
    monitor.keep_stream()
    for x in inputs():
        monitor.observe(x)
    upright = monitor.stream_summary()
    assert upright['status'] == 'familiar' and upright['unfamiliar_share'] == 0.0
    assert (upright['frames'], upright['windows']) == (40, 31)
    monitor.reset()
    monitor.keep_stream()
    for x in inputs()[:15] + inputs(turn=1)[:25]:
        monitor.observe(x)
    mixed = monitor.stream_summary()
    assert mixed['status'] == 'unfamiliar' and 0.5 < mixed['unfamiliar_share'] < 1.0
    assert mixed['by_turn_ratio'] == mixed['unfamiliar_share']
    assert 'try image_rotation 270' in mixed['message']
    # the same rows judged by the node's own window verdict, window by window
    rows = np.array(monitor._stream)
    expected = [fam.judge(rows[i:][:10], record, 10, 1.0).unfamiliar for i in range(31)]
    assert mixed['unfamiliar_share'] == sum(expected) / len(expected)
    merged = fam.merge_summaries([upright, mixed])
    assert merged['windows'] == 62 and merged['streams_unfamiliar'] == 1
    assert merged['unfamiliar_share'] == pytest.approx(mixed['unfamiliar_share'] * 31 / 62)
    assert merged['message'] == mixed['message']


def test_a_short_stream_is_one_window_and_no_record_says_so() -> None:
    rows = [(0.5, 1.0, 1, 0.0, 0.0, 0.0, 0.0)] * 3  # distance, turn ratio, turn, 4 geometry
    record = familiarity_record(META)
    short = fam.summarize_stream(rows, record, 10, 1.0)
    assert (short['frames'], short['windows'], short['status']) == (3, 1, 'familiar')
    assert fam.summarize_stream(rows, None, 10, 1.0)['status'] == 'no_reference'
    assert fam.summarize_stream(rows, record, 10, 0.0)['status'] == 'off'
    assert fam.summarize_stream([], record, 10, 1.0)['status'] == 'no_frames'


def test_the_load_note_says_what_the_monitor_lacks(record) -> None:
    assert fam.load_note(None) == fam.NO_REFERENCE
    assert fam.load_note(record) == ''
    data = {**json.loads(record.to_json()), 'geometry': None, 'format': 1}
    assert fam.load_note(FamiliarityRecord.from_json(json.dumps(data))) == fam.NO_GEOMETRY
