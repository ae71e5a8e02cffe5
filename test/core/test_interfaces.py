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
"""The interface table: real ROS type names, one decoder per input kind, bag topic names."""

from __future__ import annotations

from grasp_classifier_ros.bag.io import typestore
from grasp_classifier_ros.core import interfaces
from grasp_classifier_ros.core.interfaces import COMPRESSED, INPUT_KINDS, RAW
from msg_factory import make_compressed, make_image
import numpy as np
import pytest

BGR = np.arange(12 * 16 * 3, dtype=np.uint8).reshape(12, 16, 3)


def test_every_message_type_name_is_a_ros_type() -> None:
    names = {v for k, v in vars(interfaces).items() if k.endswith('_TYPE') and '/msg/' in v}
    assert len(names) == 6
    assert names <= set(typestore().types)


@pytest.mark.parametrize('kind', INPUT_KINDS, ids=lambda k: k.name)
def test_each_input_kind_decodes_its_own_messages(kind) -> None:
    msg = (
        make_compressed(BGR, 'png') if kind is COMPRESSED else make_image(BGR, 'bgr8', order='bgr')
    )
    img = kind.decode(msg, 12 * 16, None)
    np.testing.assert_array_equal(img.pixels if img.order == 'bgr' else img.pixels[..., ::-1], BGR)
    assert interfaces.input_kind_of_type(kind.msg_type) is kind


def test_input_kind_lookups() -> None:
    assert interfaces.input_kind(False) is RAW and interfaces.input_kind(True) is COMPRESSED
    assert interfaces.input_kind_of_type(interfaces.BOOL_TYPE) is None
    assert interfaces.IMAGE_TYPES == (RAW.msg_type, COMPRESSED.msg_type)
    assert [k.default_topic for k in INPUT_KINDS] == [
        '/camera/image_raw',
        '/camera/image_raw/compressed',
    ]


def test_outputs_are_relative_and_recorded_at_the_root() -> None:
    assert [o.in_bag for o in interfaces.RESULTS] == [
        '/grasp/label_info',
        '/grasp/success',
        '/grasp/confidence',
        '/grasp/result',
    ]
    assert interfaces.LABEL.in_bag == '/grasp/label'
    assert not any(o.topic.startswith('/') for o in (*interfaces.RESULTS, interfaces.LABEL))
