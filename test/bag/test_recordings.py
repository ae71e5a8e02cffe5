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
"""The one reader of recordings: bags, videos and class folders -> labelled, grouped frames."""

from __future__ import annotations

from pathlib import Path

from bag_factory import flat_episodes, make_flat_bag, NS, write_unlabelled_bag
import cv2
from grasp_classifier_ros.bag.make_bag import BagSpec, write_bag
from grasp_classifier_ros.bag.recordings import (
    collect,
    iter_frames,
    open_recording,
    ReadOptions,
    RecordingError,
    Sampling,
    Timeline,
)
import numpy as np
import pytest

# (label, grey values): 4 episodes of 6 frames, 24 frames in all.
SPEC = [(True, [200] * 6), (False, [40] * 6), (True, [210] * 6), (False, [50] * 6)]


@pytest.fixture
def bag(tmp_path: Path) -> Path:
    make_flat_bag(tmp_path / 'run1', SPEC, compressed=True)
    return tmp_path / 'run1'


def test_a_labelled_bag_yields_every_frame_with_its_label_group_and_episode(bag):
    frames = list(iter_frames(bag))
    assert len(frames) == 24
    assert [f.label for f in frames] == [ok for ok, values in SPEC for _ in values]
    assert [f.episode for f in frames] == [k for k in range(4) for _ in range(6)]
    assert {f.group for f in frames} == {'run1'}
    assert frames[0].key == 'run1/000000' and frames[-1].key == 'run1/000023'
    # PNG frames decode to the recorded pixels, RGB, as the camera delivered them
    assert frames[0].image.shape == (32, 32, 3) and frames[0].image.dtype == np.uint8
    assert np.all(frames[0].image == 200) and np.all(frames[6].image == 40)
    stamps = [f.t_ns for f in frames]
    assert stamps == sorted(stamps)


def test_raw_image_bags_read_like_compressed_ones(tmp_path):
    make_flat_bag(tmp_path / 'raw', SPEC, storage='sqlite3')
    frames = list(iter_frames(tmp_path / 'raw'))
    assert [int(f.image[0, 0, 0]) for f in frames] == [v for _, values in SPEC for v in values]


def test_sampling_thins_frames_within_each_episode(bag):
    every2 = list(iter_frames(bag, ReadOptions(sampling=Sampling(every=2))))
    assert [f.key for f in every2][:3] == ['run1/000000', 'run1/000002', 'run1/000004']
    assert len(every2) == 12
    capped = open_recording(bag, ReadOptions(sampling=Sampling(max_per_episode=2)))
    keys = [f.key for f in capped.frames()]
    # the first and last frame of each episode: evenly spaced
    assert keys == [f'run1/{i:06d}' for k in range(4) for i in (6 * k, 6 * k + 5)]
    assert capped.info.kept == 8 and capped.info.frames == 24
    assert capped.info.episodes == {'success': 2, 'failure': 2}


@pytest.mark.parametrize('every, cap', [(0, 0), (1, -1), (1.5, 0)])
def test_bad_sampling_is_one_clear_error(every, cap):
    with pytest.raises(RecordingError, match='--every|--max-per-episode'):
        Sampling(every=every, max_per_episode=cap)


def test_a_bag_without_labels_says_how_to_label_it(tmp_path):
    make_flat_bag(tmp_path / 'raw', SPEC, label_topic='')
    with pytest.raises(RecordingError) as err:
        open_recording(tmp_path / 'raw')
    text = str(err.value)
    assert "'" + str(tmp_path / 'raw') + "' has no labels" in text
    assert 'no /grasp/label topic' in text
    assert f'grasp-train label {tmp_path / "raw"} --out {tmp_path / "raw.labels.yaml"}' in text
    assert '\n' not in text


def write_intervals(path: Path, rows: list[tuple[float, float, str]], base: str = 'relative'):
    body = [f'time_base: {base}', 'episodes:']
    body += [f'  - {{start: {a}, end: {b}, label: {lab}}}' for a, b, lab in rows]
    path.write_text('\n'.join(body) + '\n')
    return path


def test_a_sidecar_labels_a_bag_without_a_label_topic(tmp_path):
    make_flat_bag(tmp_path / 'raw', SPEC, label_topic='', fps=10.0, gap_s=0.0)
    # 24 frames at 10 fps from t=0: the first 12 held, the rest failed
    write_intervals(tmp_path / 'raw.labels.yaml', [(0.0, 1.15, 'success'), (1.15, 2.4, 'failure')])
    rec = open_recording(tmp_path / 'raw')
    frames = list(rec.frames())
    assert [f.label for f in frames] == [True] * 12 + [False] * 12
    assert 'raw.labels.yaml' in rec.info.labels


def test_the_label_topic_wins_over_a_sidecar_and_says_so(bag):
    write_intervals(bag.with_name('run1.labels.yaml'), [(0.0, 0.5, 'failure')])
    rec = open_recording(bag)
    assert rec.info.labels.startswith('topic /grasp/label')
    assert any('run1.labels.yaml is not used' in n for n in rec.info.notes)


def test_an_interval_file_that_covers_no_frame_is_one_clear_error(tmp_path):
    make_flat_bag(tmp_path / 'raw', SPEC, label_topic='', fps=10.0, gap_s=0.0)
    # inside the bag's span, but between frames: no frame stamp falls in it
    labels = write_intervals(tmp_path / 'gap.yaml', [(0.01, 0.02, 'success')])
    with pytest.raises(RecordingError) as err:
        open_recording(tmp_path / 'raw', ReadOptions(labels=labels))
    assert 'cover none of its 24 frames' in str(err.value)
    assert '\n' not in str(err.value)


def test_an_interval_file_for_another_recording_is_one_clear_error(tmp_path):
    make_flat_bag(tmp_path / 'raw', SPEC, label_topic='')
    labels = write_intervals(tmp_path / 'other.yaml', [(500.0, 600.0, 'success')], 'auto')
    with pytest.raises(RecordingError, match='fit neither'):
        open_recording(tmp_path / 'raw', ReadOptions(labels=labels))


def test_partial_labels_drop_and_count_the_unlabelled_frames(tmp_path):
    make_flat_bag(tmp_path / 'raw', SPEC, label_topic='', fps=10.0, gap_s=0.0)
    labels = write_intervals(tmp_path / 'l.yaml', [(0.0, 0.55, 'success')])
    rec = open_recording(tmp_path / 'raw', ReadOptions(labels=labels))
    assert rec.info.kept == 6 and rec.info.unlabelled == 18
    assert '18 unlabelled frames dropped' in rec.info.summary()


def write_video(path: Path, values: list[int], fps: float = 10.0) -> Path:
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, (32, 32))
    assert out.isOpened()
    for v in values:
        out.write(np.full((32, 32, 3), v, np.uint8))
    out.release()
    return path


def test_a_video_is_labelled_by_its_sidecar(tmp_path):
    video = write_video(tmp_path / 'grasp7.avi', [220] * 10 + [30] * 10)
    write_intervals(
        tmp_path / 'grasp7.labels.yaml', [(0.0, 0.95, 'success'), (1.0, 1.95, 'failure')]
    )
    frames = list(iter_frames(video, ReadOptions(sampling=Sampling(every=3))))
    assert [f.key for f in frames] == [f'grasp7/{i:06d}' for i in range(0, 20, 3)]
    assert [f.label for f in frames] == [True] * 4 + [False] * 3
    assert abs(int(frames[0].image[..., 0].mean()) - 220) <= 3  # MJPEG is lossy
    assert frames[1].t_ns == 300_000_000


def test_a_video_without_labels_is_one_clear_error(tmp_path):
    video = write_video(tmp_path / 'v.avi', [100] * 5)
    with pytest.raises(RecordingError, match='has no labels: no --labels file and no sidecar'):
        open_recording(video)


def test_class_folders_are_read_as_recordings_too(tmp_path):
    for cls, v in (('grasped', 200), ('notgrasped', 30)):
        (tmp_path / 'data' / cls).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(
                str(tmp_path / 'data' / cls / f'sess{cls[0]}_{i}.png'),
                np.full((8, 8, 3), v, np.uint8),
            )
    (tmp_path / 'data' / 'notgrasped' / 'broken_1.png').write_bytes(b'not a png')
    rec = open_recording(tmp_path / 'data')
    frames = list(rec.frames())
    assert [(f.key, f.label, f.group) for f in frames][:2] == [
        ('grasped/sessg_0.png', True, 'sessg'),
        ('grasped/sessg_1.png', True, 'sessg'),
    ]
    assert sum(not f.label for f in frames) == 3 and rec.info.unreadable == 1


def test_a_folder_of_unknown_classes_is_one_clear_error(tmp_path):
    (tmp_path / 'd' / 'cats').mkdir(parents=True)
    cv2.imwrite(str(tmp_path / 'd' / 'cats' / 'a.png'), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(RecordingError, match='class folder .*cats.* name class folders'):
        open_recording(tmp_path / 'd')


def test_something_else_is_one_clear_error(tmp_path):
    (tmp_path / 'notes.txt').write_text('hi')
    with pytest.raises(RecordingError, match='neither a rosbag2 bag'):
        open_recording(tmp_path / 'notes.txt')
    with pytest.raises(RecordingError, match='does not exist'):
        open_recording(tmp_path / 'missing')


def test_collect_keeps_every_recording_its_own_group(tmp_path):
    for parent in ('monday', 'tuesday'):
        make_flat_bag(tmp_path / parent / 'run', SPEC[:2])
    make_flat_bag(tmp_path / 'other', SPEC[2:])
    got = collect([tmp_path / 'monday' / 'run', tmp_path / 'tuesday' / 'run', tmp_path / 'other'])
    assert len(got) == 36
    assert sorted(set(got.groups)) == ['monday/run', 'other', 'tuesday/run']
    # episodes are unique across recordings
    assert len(set(got.episodes)) == 6
    assert got.labels.dtype == bool and got.labels.sum() == 18
    assert len(set(got.keys)) == 36
    assert [r.group for r in got.recordings] == ['monday/run', 'tuesday/run', 'other']


def test_collect_transforms_frames_as_it_reads_them(bag):
    got = collect([bag], transform=lambda im: im[:4, :4].copy())
    assert {im.shape for im in got.images} == {(4, 4, 3)}


def test_collect_refuses_the_same_recording_twice_and_one_labels_file_for_many(bag, tmp_path):
    with pytest.raises(RecordingError, match='given twice'):
        collect([bag, bag])
    make_flat_bag(tmp_path / 'run2', SPEC)
    with pytest.raises(RecordingError, match='beside its recording'):
        collect([bag, tmp_path / 'run2'], ReadOptions(labels=tmp_path / 'x.yaml'))


def test_a_bag_with_two_image_topics_asks_which(tmp_path):
    eps = flat_episodes(SPEC[:1])
    write_bag(tmp_path / 'two', eps, BagSpec(image_topic='/a/image_raw'))
    from grasp_classifier_ros.bag.io import BagReader, BagWriter

    # copy in a second image topic
    with BagReader(tmp_path / 'two') as r, BagWriter(tmp_path / 'both') as w:
        for m in r.messages(list(r.topics)):
            w.write(m.topic, m.log_ns, m.msg)
            if m.topic == '/a/image_raw':
                w.write('/b/image_raw', m.log_ns, m.msg)
    with pytest.raises(RecordingError, match='several image topics .* --image-topic'):
        open_recording(tmp_path / 'both')
    rec = open_recording(tmp_path / 'both', ReadOptions(image_topic='/b/image_raw'))
    assert rec.info.source == '/b/image_raw, Image'


def test_a_timeline_reads_an_unlabelled_bag_its_triggers_and_chosen_frames(tmp_path):
    frames = [(i / 10, 20 * i) for i in range(8)]
    bag = write_unlabelled_bag(tmp_path / 'raw', frames, [(0.05, True), (0.45, False)])
    with pytest.raises(RecordingError, match='has no labels'):
        open_recording(bag)  # labelled frames need labels; the timeline does not
    line = Timeline(bag, trigger_topic='/grasp/attempt')
    t0 = 1_700_000_000 * NS
    assert line.stamps_ns == [t0 + i * NS // 10 for i in range(8)]
    assert line.triggers == [(t0 + NS // 20, True), (t0 + 45 * NS // 100, False)]
    assert line.topic == '/camera/image_raw' and line.source == '/camera/image_raw, Image'
    got = list(line.images({6, 1}))
    assert [i for i, _ in got] == [1, 6]
    assert np.all(got[0][1] == 20) and np.all(got[1][1] == 120)
    assert Timeline(bag).triggers is None
    with pytest.raises(RecordingError, match="trigger topic '/go' is not in the bag; topics: "):
        Timeline(bag, trigger_topic='/go')


def test_a_timeline_of_a_video_a_folder_and_an_empty_bag(tmp_path):
    video = write_video(tmp_path / 'v.avi', [100] * 5 + [200] * 5)
    line = Timeline(video)
    assert line.stamps_ns == [i * NS // 10 for i in range(10)]
    ((i, rgb),) = list(line.images([7]))
    assert i == 7 and abs(int(rgb.mean()) - 200) <= 3
    with pytest.raises(RecordingError, match='is a video: it has no topics'):
        Timeline(video, trigger_topic='/go')
    folder = tmp_path / 'folder'
    (folder / 'grasped').mkdir(parents=True)
    cv2.imwrite(str(folder / 'grasped' / 'a_1.png'), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(RecordingError, match='is a class folder'):
        Timeline(folder)
    empty = write_unlabelled_bag(tmp_path / 'empty', [], [(0.0, True)])
    with pytest.raises(RecordingError, match='has no frames'):
        Timeline(empty)
