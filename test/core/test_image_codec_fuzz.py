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
"""
Property tests: any Image/CompressedImage decodes to HxWx3 uint8 or ImageConversionError.

A quick profile (~200 cases); ``make fuzz`` (tools/fuzz_image_codec.py) runs the
same strategies and oracle for >= 10,000 cases.
"""

from __future__ import annotations

from hypothesis import given, HealthCheck, settings
import image_codec_strategies as ics

QUICK = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@settings(QUICK, max_examples=120)
@given(ics.image_cases())
def test_any_image_decodes_or_raises_image_conversion_error(case: ics.ImageCase) -> None:
    ics.check_image_case(case)


@settings(QUICK, max_examples=80)
@given(ics.compressed_cases())
def test_any_compressed_image_decodes_or_raises_image_conversion_error(
    case: ics.CompressedCase,
) -> None:
    ics.check_compressed_case(case)
