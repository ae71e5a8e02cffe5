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
The node's results in bags: read the ones a live node recorded, write an annotated copy.

Part of the bag IO layer with ``io``: ``recorded_records`` turns recorded
``vision_msgs/Classification`` results into frame records (``evaluate_bag
--recorded``); ``write_annotated_bag`` copies a bag adding the results of a
replay on the node's output topics (``evaluate_bag --out-bag``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import heapq
from pathlib import Path
from typing import Any

import numpy as np

from .io import (
    BagError,
    BagReader,
    BagWriter,
    bool_msg,
    classification_msg,
    copy_definition,
    float32_msg,
    label_info_msg,
)
from .labels import SUCCESS_WORDS
from .replay import FrameRecord
from ..core.interfaces import (
    CLASSIFICATION_TYPE,
    CONFIDENCE,
    LABEL_INFO,
    LABEL_INFO_TYPE,
    RESULT,
    RESULTS,
    SUCCESS,
)
from ..core.pipeline import FrameResult
from ..core.stamps import stamp_to_ns

NO_SUCCESS_CLASS = 'no_success_class'  # status of a recorded result without the success class
# A median "latency" (log time - header stamp) beyond this is two clocks, not a latency.
CLOCK_MISMATCH_S = 60.0


@dataclass(frozen=True)
class Recorded:
    """Frame records of recorded results, and what the bag said about them."""

    records: list[FrameRecord]
    success_class: str
    success_class_source: str  # '--success-class', 'the model' or 'its name'
    threshold: float | None  # from the bag's label_info, if it has one


def recorded_records(
    reader: BagReader,
    result_topic: str,
    label_info_topic: str,
    success_class: str | None = None,
    model_success_class: str | None = None,
) -> Recorded:
    """
    Turn recorded ``vision_msgs/Classification`` results into frame records.

    The success class is ``success_class`` if given; else, among the class
    names of the bag's label_info (or the class ids seen), the model's success
    class, or else the one name that means success (``grasped``, ``success``...).
    """
    if result_topic not in reader.topics:
        raise BagError(
            f"result topic '{result_topic}' is not in the bag; topics: {reader.topic_summary()}"
        )
    if reader.topics[result_topic].msgtype != CLASSIFICATION_TYPE:
        raise BagError(
            f"topic '{result_topic}' is of type {reader.topics[result_topic].msgtype}, "
            f'expected {CLASSIFICATION_TYPE}'
        )
    id_to_name: dict[str, str] = {}
    threshold = None
    if label_info_topic in reader.topics:
        if reader.topics[label_info_topic].msgtype != LABEL_INFO_TYPE:
            raise BagError(
                f"topic '{label_info_topic}' is of type "
                f'{reader.topics[label_info_topic].msgtype}, expected {LABEL_INFO_TYPE}'
            )
        for m in reader.messages([label_info_topic]):
            id_to_name = {str(c.class_id): str(c.class_name) for c in m.msg.class_map}
            threshold = float(m.msg.threshold)
            break
    results: list[tuple[Any, int, int, dict[str, float]]] = []
    seen: set[str] = set()
    for m in reader.messages([result_topic]):
        scores = {
            id_to_name.get(str(h.class_id), str(h.class_id)): float(h.score) for h in m.msg.results
        }
        seen.update(scores)
        results.append((m.msg.header, stamp_to_ns(m.msg.header.stamp), m.log_ns, scores))
    classes = sorted(set(id_to_name.values()) or seen)
    source = '--success-class'
    if success_class is None:
        success_class, source = _success_class(classes, model_success_class, result_topic)
    records: list[FrameRecord] = []
    for hdr, stamp, log_ns, scores in results:
        rec = FrameRecord(len(records), stamp, log_ns, header=hdr)
        if success_class in scores:
            rec.result = FrameResult(
                hdr,
                stamp,
                log_ns,
                'ok',
                probabilities=np.array(list(scores.values())),
                success_probability=scores[success_class],
            )
            rec.e2e_ms = (log_ns - stamp) / 1e6
            rec.result_log_ns = log_ns
        else:
            rec.result = FrameResult(hdr, stamp, log_ns, NO_SUCCESS_CLASS)
        records.append(rec)
    if records and all(r.status != 'ok' for r in records):
        raise BagError(
            f"no hypothesis names the success class '{success_class}' on '{result_topic}' "
            f'(class_ids seen: {", ".join(sorted(seen)) or "none"}); pass --success-class'
        )
    return Recorded(records, success_class, source, threshold)


def clock_mismatch(records: list[FrameRecord]) -> str | None:
    """
    Say what to do when recorded results were logged on another clock than their stamps.

    A live node replaying a bag with ``use_sim_time`` stamps its results with the bag's old
    times; ``ros2 bag record`` without ``--use-sim-time`` logs them at the wall clock's, so
    log time - stamp reads as a latency of months or years. Returns None when the median
    of ``e2e_ms`` is within ``CLOCK_MISMATCH_S``; else the one-line explanation, and the
    end-to-end latencies are left out (set to None).
    """
    e2e = [r.e2e_ms for r in records if r.e2e_ms is not None]
    if not e2e:
        return None
    median_s = float(np.median(e2e)) / 1e3
    if abs(median_s) <= CLOCK_MISMATCH_S:
        return None
    for r in records:
        r.e2e_ms = None
    return (
        f'the results were logged a median {median_s:.3g} s after their header stamps: not a '
        'latency but two clocks (the node on sim time, the recorder on wall time); '
        'end-to-end latency left out. Record with `ros2 bag record --use-sim-time` while '
        '`ros2 bag play --clock` drives the node (use_sim_time:=true)'
    )


def _success_class(
    classes: list[str], model_success_class: str | None, result_topic: str
) -> tuple[str, str]:
    """Pick the success class among ``classes``: the model's, else the one success word."""
    if model_success_class in classes:
        return model_success_class, 'the model'  # type: ignore[return-value]
    words = [c for c in classes if c.strip().lower() in SUCCESS_WORDS]
    if len(words) == 1:
        return words[0], 'its name'
    model = f"the model's is '{model_success_class}'" if model_success_class else 'no model'
    raise BagError(
        f"cannot tell which class is success on '{result_topic}' (classes: "
        f'{", ".join(classes) or "none"}; {model}); pass --success-class'
    )


def write_annotated_bag(
    reader: BagReader,
    out: Path,
    records: list[FrameRecord],
    class_names: list[str],
    threshold: float,
    storage: str,
) -> list[str]:
    """
    Copy the bag adding /grasp/success, /grasp/confidence, /grasp/result, /grasp/label_info.

    Results are placed at the time the evaluation produced them on the bag's
    clock. Returns the topics that could not be copied (unknown types).
    """
    ours = tuple(o.in_bag for o in RESULTS)
    added: list[tuple[int, int, str, Any]] = [
        (
            reader.start_ns,
            0,
            LABEL_INFO.in_bag,
            label_info_msg(reader.start_ns, class_names, threshold),
        )
    ]
    for r in records:
        if r.status != 'ok' or r.probability is None or r.header is None:
            continue
        t = r.result_log_ns if r.result_log_ns is not None else r.log_ns
        added.append((t, len(added), SUCCESS.in_bag, bool_msg(r.verdict == 'success')))
        added.append((t, len(added), CONFIDENCE.in_bag, float32_msg(r.probability)))
        probs = r.probabilities or []
        added.append(
            (t, len(added), RESULT.in_bag, classification_msg(r.header, class_names, probs))
        )
    added.sort(key=lambda a: (a[0], a[1]))
    skipped: list[str] = []
    with BagWriter(out, storage) as w:
        copied = []
        for conn in reader.connections:
            if conn.topic in ours:
                continue
            msgdef, rihs = copy_definition(conn)
            if not reader.topics[conn.topic].known and not (msgdef and rihs):
                skipped.append(conn.topic)
                continue
            w.add_topic(conn.topic, conn.msgtype, store=reader.store, msgdef=msgdef, rihs01=rihs)
            copied.append(conn.topic)
        for output in RESULTS:
            w.add_topic(output.in_bag, output.msg_type)

        def original() -> Iterator[tuple[int, int, str, Any]]:
            for conn, t, raw in reader.raw_messages(copied):
                yield t, -1, conn.topic, raw

        for t, order, topic, payload in heapq.merge(original(), iter(added)):
            if order < 0:
                w.write_raw(topic, t, payload)
            else:
                w.write(topic, t, payload)
    return skipped
