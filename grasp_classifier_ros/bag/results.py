# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The node's results in bags: read the ones a live node recorded, write an annotated copy.

Part of the bag IO layer with ``io``: ``recorded_records`` turns recorded
``vision_msgs/Classification`` results into frame records (``evaluate_bag
--recorded``); ``write_annotated_bag`` copies a bag adding the results of a
replay on the node's output topics (``evaluate_bag --out-bag``).
"""

from __future__ import annotations

from collections.abc import Iterator
import heapq
from pathlib import Path
from typing import Any

import numpy as np

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
from .replay import FrameRecord

NO_SUCCESS_CLASS = 'no_success_class'  # status of a recorded result without the success class


def recorded_records(
    reader: BagReader, result_topic: str, label_info_topic: str, success_class: str
) -> tuple[list[FrameRecord], float | None]:
    """Turn recorded ``vision_msgs/Classification`` results into frame records."""
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
    records: list[FrameRecord] = []
    seen: set[str] = set()
    for m in reader.messages([result_topic]):
        scores: dict[str, float] = {}
        for h in m.msg.results:
            cid = str(h.class_id)
            seen.add(cid)
            scores[id_to_name.get(cid, cid)] = float(h.score)
        stamp = stamp_to_ns(m.msg.header.stamp)
        hdr = m.msg.header
        rec = FrameRecord(len(records), stamp, m.log_ns, header=hdr)
        if success_class in scores:
            rec.result = FrameResult(
                hdr,
                stamp,
                m.log_ns,
                'ok',
                probabilities=np.array(list(scores.values())),
                success_probability=scores[success_class],
            )
            rec.e2e_ms = (m.log_ns - stamp) / 1e6
            rec.result_log_ns = m.log_ns
        else:
            rec.result = FrameResult(hdr, stamp, m.log_ns, NO_SUCCESS_CLASS)
        records.append(rec)
    if records and all(r.status != 'ok' for r in records):
        raise BagError(
            f"no hypothesis names the success class '{success_class}' on '{result_topic}' "
            f'(class_ids seen: {", ".join(sorted(seen)) or "none"}); pass --success-class'
        )
    return records, threshold


def write_annotated_bag(
    reader: BagReader,
    out: Path,
    records: list[FrameRecord],
    class_names: list[str],
    threshold: float,
    storage: str,
) -> list[str]:
    """Copy the bag adding /grasp/success, /grasp/confidence, /grasp/result, /grasp/label_info.

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
