# Copyright 2026 The grasp_classifier_ros Authors
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
