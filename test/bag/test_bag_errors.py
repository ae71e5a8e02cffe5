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
"""evaluate_bag fails with one clear line (exit 2) on bad input; --list; unknown types."""

from __future__ import annotations

from pathlib import Path

from bag_factory import make_flat_bag
from grasp_classifier_ros.bag import io as bag_io
from grasp_classifier_ros.bag.evaluate_bag import main
from grasp_classifier_ros.bag.io import BagWriter
from grasp_classifier_ros.core.interfaces import IMAGE_TYPE
from model_factory import write_model
import pytest

SPEC = [(True, [200] * 3), (False, [40] * 3)]


@pytest.fixture(scope='module')
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp('model') / 'brightness.pt')


@pytest.fixture(scope='module', params=['mcap', 'sqlite3'])
def bag(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp('bags') / f'bag_{request.param}'
    make_flat_bag(path, SPEC, storage=request.param)
    return path


def fail(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main([*argv, '--quiet', '--no-plot']) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('evaluate_bag: error: ')
    assert '\n' not in err, err
    return err


def test_missing_bag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = fail([str(tmp_path / 'nope')], capsys)
    assert 'does not exist' in err and 'nope' in err


def test_directory_that_is_not_a_bag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert 'no metadata.yaml' in fail([str(tmp_path)], capsys)


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_empty_bag(tmp_path: Path, storage: str, capsys: pytest.CaptureFixture[str]) -> None:
    with BagWriter(tmp_path / 'empty', storage) as w:
        w.add_topic('/camera/image_raw', IMAGE_TYPE)
    assert 'is empty' in fail([str(tmp_path / 'empty')], capsys)


def test_writer_removes_a_half_written_bag(tmp_path: Path) -> None:
    out = tmp_path / 'half'
    with pytest.raises(RuntimeError, match='boom'), BagWriter(out, 'mcap') as w:
        w.write('/grasp/success', 1, bag_io.bool_msg(True))
        assert out.is_dir()
        raise RuntimeError('boom')
    assert not out.exists()


@pytest.mark.parametrize('keep', [0.5, 0.9])
def test_truncated_file(
    bag: Path, tmp_path: Path, keep: float, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / 'broken'
    broken.mkdir()
    for f in bag.iterdir():
        data = f.read_bytes()
        if f.suffix in ('.mcap', '.db3'):
            data = data[: int(len(data) * keep)]
        (broken / f.name).write_bytes(data)
    assert 'corrupt or truncated' in fail([str(broken), '--out', str(tmp_path / 'o')], capsys)


def test_wrong_image_topic_type(
    bag: Path, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(bag), '--model', str(model), '--image-topic', '/grasp/label']
    err = fail([*argv, '--out', str(tmp_path / 'o')], capsys)
    assert "'/grasp/label' is of type std_msgs/msg/Bool" in err


def test_missing_image_topic_lists_topics(
    bag: Path, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(bag), '--model', str(model), '--image-topic', '/cam/missing']
    err = fail([*argv, '--out', str(tmp_path / 'o')], capsys)
    assert "'/cam/missing' is not in the bag" in err
    assert '/camera/image_raw (sensor_msgs/msg/Image, 6)' in err
    assert '/grasp/label (std_msgs/msg/Bool, 6)' in err


def test_wrong_label_topic_type(
    bag: Path, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(bag), '--model', str(model), '--label-topic', '/camera/image_raw']
    err = fail([*argv, '--out', str(tmp_path / 'o')], capsys)
    assert 'expected std_msgs/msg/Bool' in err


def test_bad_options(bag: Path, model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert '--rate only applies with --realtime' in fail([str(bag), '--rate', '2'], capsys)
    assert 'must be > 0' in fail([str(bag), '--realtime', '--rate', '0'], capsys)
    assert 'cannot load model' in fail([str(bag), '--model', '/nonexistent.pt'], capsys)
    assert 'already exists' in fail([str(bag), '--out-bag', str(bag)], capsys)
    assert 'no bag given' in fail([], capsys)


def test_bad_params_file(
    bag: Path, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = tmp_path / 'p.yaml'
    params.write_text('grasp_classifier:\n  ros__parameters:\n    hysteresis: 0.9\n')
    err = fail([str(bag), '--model', str(model), '--params', str(params)], capsys)
    assert "parameter 'hysteresis'=0.9 rejected" in err


def test_list_and_unknown_types(
    tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / 'mixed'
    made = make_flat_bag(path / 'src', SPEC)
    with BagWriter(path / 'bag', 'mcap') as w:
        # a type whose definition names a type nobody defined: unreadable
        rihs01 = 'RIHS01_' + '0' * 64
        w.add_topic('/weird', 'my_pkg/msg/Weird', msgdef='Missing thing\n', rihs01=rihs01)
        w.write_raw('/weird', made.episodes[0].start_ns, b'\x00\x01\x00\x00')
        with bag_io.BagReader(path / 'src') as src:
            for conn in src.connections:
                w.add_topic(conn.topic, conn.msgtype)
            for conn, t, raw in src.raw_messages():
                w.write_raw(conn.topic, t, raw)
    assert main([str(path / 'bag'), '--list']) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln.split(None, 1)[1] for ln in out.splitlines()[1:]}
    assert lines == {
        '/camera/image_raw': 'sensor_msgs/msg/Image  (6 msgs)',
        '/grasp/label': 'std_msgs/msg/Bool  (6 msgs)',
        '/weird': 'my_pkg/msg/Weird  (1 msgs)  [unknown type: skipped]',
    }
    report = tmp_path / 'report'
    argv = [str(path / 'bag'), '--model', str(model), '--out', str(report), '--quiet', '--no-plot']
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "skipping topic '/weird': unknown type my_pkg/msg/Weird" in err
