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
"""The camera mount: image_rotation and image_flip turn the frame before roi, everywhere alike."""

from __future__ import annotations

from grasp_classifier_ros.core.configure import apply_params
from grasp_classifier_ros.core.errors import ParameterError
from grasp_classifier_ros.core.image_codec import DecodedImage
from grasp_classifier_ros.core.interfaces import COMPRESSED
from grasp_classifier_ros.core.metadata import ModelMetadata
from grasp_classifier_ros.core.model import load_model
from grasp_classifier_ros.core.mount import Mount, raw_slices, ROTATIONS
from grasp_classifier_ros.core.params import validate, validate_all
from grasp_classifier_ros.core.pipeline import Pipeline
from grasp_classifier_ros.core.preprocess import crop_resize, orient, Preprocessor
from grasp_classifier_ros.core.roi import roi_slices
from model_factory import brightness_metadata, BrightnessModel, write_model
from msg_factory import make_compressed, make_image
import numpy as np
import pytest

S = 1_000_000_000
MOUNTS = [Mount(r, f) for r in ROTATIONS for f in (False, True)]


def frame(h: int = 480, w: int = 640, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def naive(pixels: np.ndarray, mount: Mount) -> np.ndarray:
    """Turn clockwise, then mirror left-right: the definition, on the whole frame."""
    out = np.rot90(pixels, -mount.rotation // 90)
    return np.ascontiguousarray(out[:, ::-1] if mount.flip else out)


def meta(h: int, w: int) -> ModelMetadata:
    return ModelMetadata(h, w, ('failure', 'success'), 1, mean=(0, 0, 0), std=(1, 1, 1))


def test_rotation_is_clockwise_and_flip_mirrors_after_it():
    img = np.arange(6, dtype=np.uint8).reshape(2, 3, 1).repeat(3, 2)  # rows [0 1 2], [3 4 5]
    cw = orient(img, Mount(90))[..., 0]
    assert cw.tolist() == [[3, 0], [4, 1], [5, 2]]
    assert orient(img, Mount(90, True))[..., 0].tolist() == [[0, 3], [1, 4], [2, 5]]
    assert orient(img, Mount(180))[..., 0].tolist() == [[5, 4, 3], [2, 1, 0]]
    assert orient(img, Mount(270))[..., 0].tolist() == [[2, 5], [1, 4], [0, 3]]
    assert orient(img, Mount(0, True))[..., 0].tolist() == [[2, 1, 0], [5, 4, 3]]


@pytest.mark.parametrize('mount', MOUNTS, ids=str)
@pytest.mark.parametrize(
    'roi', [(0.0, 0.0, 1.0, 1.0), (0.1, 0.25, 0.5, 0.6), (0.6, 0.0, 0.4, 0.3)]
)
def test_roi_is_taken_in_the_turned_frame_exactly(mount, roi):
    """Without resizing, the crop is pixel for pixel the ROI of the turned frame."""
    img = frame(47, 83)
    turned = naive(img, mount)
    ys, xs = roi_slices(*turned.shape[:2], roi)
    want = turned[ys, xs]
    rows, cols = raw_slices(47, 83, roi, mount)
    assert (rows.stop - rows.start) * (cols.stop - cols.start) == want.shape[0] * want.shape[1]
    got = crop_resize(img, 'rgb', meta(*want.shape[:2]), roi, mount)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize('mount', MOUNTS, ids=str)
@pytest.mark.parametrize('size', [96, 128])
def test_camera_frames_shrink_to_the_same_pixels_as_turning_first(mount, size):
    """640x480 -> model input: cropping and shrinking before the turn changes no pixel."""
    img = frame()
    m = meta(size, size)
    np.testing.assert_array_equal(
        crop_resize(img, 'rgb', m, mount=mount), crop_resize(naive(img, mount), 'rgb', m)
    )


def test_a_non_square_input_keeps_its_shape_when_turned():
    got = crop_resize(frame(), 'rgb', meta(64, 96), mount=Mount(90))
    assert got.shape == (64, 96, 3)


@pytest.mark.parametrize('bad', [45, -90, 360, True, 90.0, '90'])
def test_image_rotation_rejects_anything_but_quarter_turns(bad):
    with pytest.raises(ParameterError, match='image_rotation'):
        validate('image_rotation', bad)
    with pytest.raises(ParameterError, match='0, 90, 180 or 270'):
        Mount(bad)


def test_params_carry_the_mount():
    p = validate_all({'image_rotation': 270, 'image_flip': True})
    assert p.mount == Mount(270, True)
    assert validate_all({}).mount.identity


@pytest.fixture
def brightness_pipeline(tmp_path):
    path = write_model(tmp_path / 'm.pt', BrightnessModel(), brightness_metadata(size=32))
    return Pipeline(load_model(str(path), device='cpu', warmup_runs=0))


@pytest.mark.parametrize('mount', MOUNTS, ids=str)
def test_node_path_and_offline_path_give_the_same_pixels(brightness_pipeline, mount):
    """The node's Preprocessor (set by parameters) and training's crop_resize agree exactly."""
    params = validate_all(
        {'image_rotation': mount.rotation, 'image_flip': mount.flip, 'roi': [0.1, 0.2, 0.7, 0.6]}
    )
    apply_params(brightness_pipeline, params)
    img = frame(seed=3)
    node = brightness_pipeline.preprocessor.resize(DecodedImage(img, 'rgb'))
    offline = crop_resize(img, 'rgb', brightness_pipeline.metadata, params.roi, params.mount)
    np.testing.assert_array_equal(node, offline)
    msg = make_image(img, 'rgb8', stamp_ns=1)
    decoded = brightness_pipeline.decode(msg)
    np.testing.assert_array_equal(brightness_pipeline.preprocessor.resize(decoded), offline)


def test_a_turned_jpeg_is_decoded_large_enough_for_the_model():
    """decode_min_size follows the turn: a tall ROI of a turned frame keeps its resolution."""
    m = meta(128, 128)
    upright = Preprocessor(m, roi=(0.0, 0.0, 1.0, 0.25))
    turned = Preprocessor(m, roi=(0.0, 0.0, 1.0, 0.25), mount=Mount(90))
    assert upright.decode_min_size() == (512, 128)
    assert turned.decode_min_size() == (128, 512)


def test_changing_the_mount_restarts_smoothing(brightness_pipeline):
    """Evidence seen through the old mount is not mixed with the new view."""
    pipe = brightness_pipeline
    bright, dark = np.full((32, 32, 3), 230, np.uint8), np.full((32, 32, 3), 20, np.uint8)
    ms = S // 1000
    pipe.process(make_image(bright, 'rgb8', stamp_ns=S), S + ms)
    kept = pipe.process(make_image(dark, 'rgb8', stamp_ns=S + 10 * ms), S + 11 * ms).decision
    assert kept.smoothed != pytest.approx(kept.probability)  # smoothing carried the bright frame
    apply_params(pipe, validate_all({'image_rotation': 90}))
    fresh = pipe.process(make_image(dark, 'rgb8', stamp_ns=S + 20 * ms), S + 21 * ms).decision
    assert pipe.mount == Mount(90)
    assert fresh.smoothed == pytest.approx(fresh.probability)


def test_compressed_frames_turn_like_raw_ones(tmp_path):
    path = write_model(tmp_path / 'm.pt', BrightnessModel(), brightness_metadata(size=32))
    model = load_model(str(path), device='cpu', warmup_runs=0)
    pipe = Pipeline(model, mount=Mount(270, True), input_kind=COMPRESSED)
    img = frame(64, 64, seed=5)
    png = make_compressed(np.ascontiguousarray(img[..., ::-1]), 'png', stamp_ns=1)
    got = pipe.preprocessor.resize(pipe.decode(png))
    np.testing.assert_array_equal(
        got, crop_resize(naive(img, Mount(270, True)), 'rgb', model.metadata)
    )
