#!/usr/bin/env python3
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
Fuzz image_codec with >= 10,000 hypothesis cases (the body of ``make fuzz``).

Draws Image and CompressedImage cases from ``test/support/image_codec_strategies.py``
(the same strategies and contract oracle as ``test/core/test_image_codec_fuzz.py``),
counts outcomes (ok, ImageConversionError by reason, anything else) and exits
non-zero if any case raised another exception or broke the contract.

Usage: ``python tools/fuzz_image_codec.py [--image-examples N] [--compressed-examples N]
[--seed S] [--show-native-stderr]``
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Iterator
import contextlib
import os
from pathlib import Path
import platform
import re
import socket
import subprocess
import sys
import time
import traceback
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / 'test' / 'support')]

import cv2  # noqa: E402
import hypothesis  # noqa: E402
from hypothesis import given, HealthCheck, Phase, settings  # noqa: E402
import image_codec_strategies as ics  # noqa: E402
import numpy as np  # noqa: E402

# First match wins; the label groups messages that differ only in values.
REASONS: tuple[tuple[str, str], ...] = (
    (r'exceeds max_pixels', 'pixel limit exceeded'),
    (r'^Image\.encoding=', 'Image.encoding unsupported'),
    (r'^Image\.(height|width)=.* must be a positive integer', 'Image.height/width not positive'),
    (r'^Image\.width=\d+ is odd', 'Image.width odd for yuv422'),
    (r'^Image\.step=', 'Image.step too small / not int'),
    (r'^Image\.data has \d+ bytes, fewer', 'Image.data too short'),
    (r'^(Compressed)?Image\.data (has type|is a numpy|is array|is a memoryview)', 'data type'),
    (r'^(Compressed)?Image\.data (is a list holding|holds)', 'data list values'),
    (r'^CompressedImage\.format=', 'CompressedImage.format unsupported'),
    (r'^CompressedImage\.data is empty', 'CompressedImage.data empty'),
    (r'JPEG SOI marker|PNG signature', 'wrong magic bytes'),
    (r'no JPEG frame header', 'JPEG without SOF'),
    (r'header declares', 'zero size in header'),
    (r'JPEG EOI', 'JPEG truncated (no EOI)'),
    (r'not a decodable', 'undecodable (cv2.imdecode None)'),
    (r'cannot be decoded', 'cv2.error while decoding'),
    (r'^min_size=', 'min_size invalid'),
)


def classify(exc: Exception) -> str:
    """Return a short reason label for an ImageConversionError message."""
    text = str(exc)
    for pattern, label in REASONS:
        if re.search(pattern, text):
            return label
    return f'unclassified: {text[:60]}'


class Tally:
    """Outcome counts and the first few failures of one fuzz run."""

    def __init__(self) -> None:
        self.tried = 0
        self.counts: Counter[str] = Counter()
        self.failures: list[str] = []

    def record(self, case: Any, check: Callable[[Any], Exception | None]) -> None:
        self.tried += 1
        try:
            exc = check(case)
        except AssertionError:
            self._fail('contract violation (AssertionError)', case)
        except Exception as other:
            self._fail(f'other exception: {type(other).__name__}', case)
        else:
            self.counts['ok' if exc is None else f'ImageConversionError: {classify(exc)}'] += 1

    @property
    def failed(self) -> int:
        return sum(n for k, n in self.counts.items() if not k.startswith(('ok', 'ImageConv')))

    def _fail(self, label: str, case: Any) -> None:
        self.counts[label] += 1
        if len(self.failures) < 5:
            self.failures.append(f'{label}\n  case: {case!r:.400}\n{traceback.format_exc()}')


def run(
    strategy: Any, check: Callable[[Any], Exception | None], n: int, seed: int | None
) -> Tally:
    """Run ``n`` hypothesis examples of ``strategy`` through ``check``."""
    tally = Tally()

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def body(case: Any) -> None:
        tally.record(case, check)

    if seed is not None:
        body = hypothesis.seed(seed)(body)
    body()
    return tally


@contextlib.contextmanager
def native_stderr_silenced(enabled: bool) -> Iterator[None]:
    """Send C-level stderr (libjpeg/libpng warnings on corrupt input) to /dev/null."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def where() -> str:
    """Describe the machine and software the run used."""
    try:
        commit = subprocess.run(
            ['git', '-C', str(ROOT), 'rev-parse', '--short', 'HEAD'],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ''
    return (
        f'host={socket.gethostname()} platform={platform.platform()} cpus={os.cpu_count()} '
        f'python={platform.python_version()} numpy={np.__version__} opencv={cv2.__version__} '
        f'hypothesis={hypothesis.__version__} commit={commit or "unknown"}'
    )


def report(name: str, tally: Tally, seconds: float) -> None:
    print(f'\n{name}: {tally.tried} cases in {seconds:.1f} s ({tally.tried / seconds:.0f}/s)')
    for label, count in sorted(tally.counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f'  {count:7d}  {label}')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--image-examples', type=int, default=10_000)
    parser.add_argument('--compressed-examples', type=int, default=10_000)
    parser.add_argument(
        '--seed', type=int, default=None, help='hypothesis seed (reproducible run)'
    )
    parser.add_argument(
        '--show-native-stderr', action='store_true', help='keep libjpeg/libpng warnings'
    )
    args = parser.parse_args(argv)

    print(f'fuzz_image_codec: {where()}')
    print(f'max_pixels={ics.FUZZ_MAX_PIXELS} seed={args.seed}')
    tallies = []
    with native_stderr_silenced(not args.show_native_stderr):
        for name, strategy, check, n in (
            ('Image', ics.image_cases(), ics.check_image_case, args.image_examples),
            (
                'CompressedImage',
                ics.compressed_cases(),
                ics.check_compressed_case,
                args.compressed_examples,
            ),
        ):
            start = time.perf_counter()
            tally = run(strategy, check, n, args.seed)
            tallies.append((name, tally, time.perf_counter() - start))
    for name, tally, seconds in tallies:
        report(name, tally, seconds)
    tried = sum(t.tried for _, t, _ in tallies)
    failed = sum(t.failed for _, t, _ in tallies)
    ok = sum(t.counts['ok'] for _, t, _ in tallies)
    print(f'\nTOTAL: {tried} cases, {ok} ok, {tried - ok - failed} ImageConversionError, ', end='')
    print(f'{failed} other/contract failures')
    for _, tally, _ in tallies:
        for failure in tally.failures:
            print('\n' + failure)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
