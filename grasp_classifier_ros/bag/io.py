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
Read and write rosbag2 bags (sqlite3 and mcap) with ``rosbags``; no ROS install needed.

Messages come from the ``rosbags`` ROS 2 Humble type store plus this package's
own definitions of the vision_msgs types it publishes (``msg_defs/``). Bags are
written as rosbag2 metadata version 8, which ROS 2 Humble's ``ros2 bag`` reads
(version 9 changed the QoS encoding and breaks Humble). Every failure to open,
read or write a bag raises ``BagError`` with a one-line reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
import shutil
from typing import Any, Literal

import numpy as np
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import get_types_from_idl, get_types_from_msg, Stores
from rosbags.typesys.store import Typestore

from ..core.errors import GraspClassifierError
from ..core.interfaces import (
    BOOL_TYPE,
    CLASSIFICATION_TYPE,
    COMPRESSED_TYPE,
    FLOAT32_TYPE,
    IMAGE_TYPE,
    LABEL_INFO_TYPE,
)
from ..core.stamps import NS, ns_to_stamp
from ..ros import conversions as ros_conversions

STORAGES = ('mcap', 'sqlite3')
BAG_VERSION: Literal[8] = 8

MSG_DEFS_DIR = Path(__file__).resolve().parent / 'msg_defs'
VISION_MSGS = ('ObjectHypothesis', 'Classification', 'VisionClass', 'LabelInfo')


class BagError(GraspClassifierError):
    """A bag is missing, empty, corrupt, or lacks what was asked of it."""


def vision_msgs_types() -> dict[str, Any]:
    """Parse the bundled vision_msgs definitions into rosbags type descriptions."""
    types: dict[str, Any] = {}
    for name in VISION_MSGS:
        text = (MSG_DEFS_DIR / f'{name}.msg').read_text()
        types.update(get_types_from_msg(text, f'vision_msgs/msg/{name}'))
    return types


def new_typestore() -> Typestore:
    """Return a fresh Humble type store with the vision_msgs types registered."""
    from rosbags.typesys import get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    store.register(vision_msgs_types())
    return store


@lru_cache(maxsize=1)
def typestore() -> Typestore:
    """Return the shared type store used to build and serialise messages."""
    return new_typestore()


def msg_type(name: str) -> Any:
    """Return the message class of ``name`` (e.g. ``'std_msgs/msg/Bool'``)."""
    return typestore().types[name]


def one_line(exc: BaseException) -> str:
    """Render an exception as one short line (type and first line of the message)."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ''
    return f'{type(exc).__name__}: {first}' if first else type(exc).__name__


# -- message builders ---------------------------------------------------------------------------


def header(stamp_ns: int, frame_id: str = '') -> Any:
    """Return a ``std_msgs/Header`` stamped ``stamp_ns``."""
    sec, nanosec = ns_to_stamp(stamp_ns)
    return msg_type('std_msgs/msg/Header')(
        stamp=msg_type('builtin_interfaces/msg/Time')(sec=sec, nanosec=nanosec), frame_id=frame_id
    )


def image_msg(pixels: np.ndarray, encoding: str, stamp_ns: int, frame_id: str = '') -> Any:
    """Return a ``sensor_msgs/Image`` of HxWx3 uint8 ``pixels`` already in ``encoding`` order."""
    h, w = pixels.shape[:2]
    data = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(-1)
    return msg_type(IMAGE_TYPE)(
        header=header(stamp_ns, frame_id),
        height=h,
        width=w,
        encoding=encoding,
        is_bigendian=0,
        step=w * 3,
        data=data,
    )


def compressed_msg(data: bytes, fmt: str, stamp_ns: int, frame_id: str = '') -> Any:
    """Return a ``sensor_msgs/CompressedImage`` holding already-encoded ``data``."""
    return msg_type(COMPRESSED_TYPE)(
        header=header(stamp_ns, frame_id), format=fmt, data=np.frombuffer(data, np.uint8).copy()
    )


def bool_msg(value: bool) -> Any:
    return msg_type(BOOL_TYPE)(data=bool(value))


def float32_msg(value: float) -> Any:
    return msg_type(FLOAT32_TYPE)(data=float(value))


def classification_msg(hdr: Any, class_names: Sequence[str], scores: Iterable[float]) -> Any:
    """Return a ``vision_msgs/Classification`` exactly as the node builds it."""
    return ros_conversions.classification_msg(
        msg_type(CLASSIFICATION_TYPE),
        msg_type('vision_msgs/msg/ObjectHypothesis'),
        hdr,
        class_names,
        scores,
    )


def label_info_msg(stamp_ns: int, class_names: Sequence[str], threshold: float) -> Any:
    """Return a ``vision_msgs/LabelInfo`` exactly as the node builds it."""
    return ros_conversions.label_info_msg(
        msg_type(LABEL_INFO_TYPE),
        msg_type('vision_msgs/msg/VisionClass'),
        header(stamp_ns),
        class_names,
        threshold,
    )


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicInfo:
    name: str
    msgtype: str
    count: int
    known: bool


@dataclass(frozen=True)
class BagMessage:
    topic: str
    msgtype: str
    log_ns: int
    msg: Any


class BagReader:
    """
    A rosbag2 bag (directory, or a single .mcap / .db3 file) opened for reading.

    Types missing from the type store are registered from the definitions the
    bag carries (mcap, and sqlite3 bags recorded on Iron or newer); topics
    whose type stays unknown are listed in ``unknown`` and cannot be read.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise BagError(f"bag '{self.path}' does not exist")
        if self.path.is_dir() and not (self.path / 'metadata.yaml').is_file():
            raise BagError(
                f"'{self.path}' is not a rosbag2 bag (no metadata.yaml); pass the bag "
                'directory or its .mcap/.db3 file'
            )
        self.store = new_typestore()
        try:
            self._reader = Reader(self.path)
            self._reader.open()
        except Exception as exc:  # rosbags/apsw/mcap raise many kinds; all mean "unreadable"
            raise BagError(
                f"cannot open bag '{self.path}': corrupt or truncated file, or not a rosbag2 "
                f'bag ({one_line(exc)})'
            ) from exc
        self.unknown: dict[str, str] = {}
        self._register_bag_types()
        self.topics: dict[str, TopicInfo] = {}
        for name, info in sorted(self._reader.topics.items()):
            mtype = info.msgtype or '?'
            known = self._resolvable(mtype)
            if not known:
                self.unknown.setdefault(name, mtype)
            self.topics[name] = TopicInfo(name, mtype, int(info.msgcount), known)

    def _register_bag_types(self) -> None:
        for conn in self._reader.connections:
            if conn.msgtype in self.store.types:
                continue
            text = _definition_text(conn)
            if not text:
                continue
            try:
                if conn.msgdef.format.name == 'IDL':
                    types = get_types_from_idl(text)
                else:
                    types = get_types_from_msg(text, conn.msgtype)
                self.store.register(types)
            except Exception:  # an unparsable definition just leaves the type unknown
                continue

    def _resolvable(self, msgtype: str) -> bool:
        """Return True when ``msgtype`` and every type it uses are defined."""
        if msgtype not in self.store.types:
            return False
        try:
            self.store.generate_msgdef(msgtype, ros_version=2)
        except Exception:  # a bag definition naming types nobody defined
            return False
        return True

    @property
    def storage(self) -> str:
        """Return 'mcap' or 'sqlite3'."""
        files = [self.path] if self.path.is_file() else list(self.path.iterdir())
        return 'mcap' if any(f.suffix == '.mcap' for f in files) else 'sqlite3'

    @property
    def start_ns(self) -> int:
        return int(self._reader.start_time) if self.message_count else 0

    @property
    def end_ns(self) -> int:
        return int(self._reader.end_time) if self.message_count else 0

    @property
    def message_count(self) -> int:
        return int(self._reader.message_count)

    @property
    def connections(self) -> list[Any]:
        return list(self._reader.connections)

    def topics_of_type(self, *msgtypes: str) -> list[str]:
        """Names of topics whose type is one of ``msgtypes``."""
        return [t.name for t in self.topics.values() if t.msgtype in msgtypes]

    def describe_topics(self) -> str:
        """One line per topic: name, type, count (for --list and error messages)."""
        if not self.topics:
            return '  (no topics)'
        width = max(len(t) for t in self.topics)
        lines = []
        for t in self.topics.values():
            note = '' if t.known else '  [unknown type: skipped]'
            lines.append(f'  {t.name:<{width}}  {t.msgtype}  ({t.count} msgs){note}')
        return '\n'.join(lines)

    def topic_summary(self) -> str:
        """All topics on one line, for error messages."""
        if not self.topics:
            return '(none)'
        return ', '.join(f'{t.name} ({t.msgtype}, {t.count})' for t in self.topics.values())

    def raw_messages(
        self, topics: Iterable[str] | None = None
    ) -> Iterator[tuple[Any, int, bytes]]:
        """Yield ``(connection, log_ns, raw_cdr)`` in log-time order; no deserialisation."""
        wanted = None if topics is None else set(topics)
        conns = [c for c in self._reader.connections if wanted is None or c.topic in wanted]
        if not conns:
            return
        count = 0
        try:
            for conn, log_ns, raw in self._reader.messages(conns):
                count += 1
                yield conn, int(log_ns), raw
        except Exception as exc:
            raise BagError(
                f"bag '{self.path}' is corrupt or truncated (failed after {count} messages): "
                f'{one_line(exc)}'
            ) from exc

    def messages(self, topics: Iterable[str]) -> Iterator[BagMessage]:
        """Yield deserialised messages of ``topics`` in log-time order (unknown types skipped)."""
        names = [t for t in topics if t in self.topics and self.topics[t].known]
        for conn, log_ns, raw in self.raw_messages(names):
            try:
                msg = self.store.deserialize_cdr(raw, conn.msgtype)
            except Exception as exc:
                raise BagError(
                    f"cannot decode a {conn.msgtype} message on '{conn.topic}' at "
                    f'{log_ns / NS:.3f} s (corrupt data or a different type definition): '
                    f'{one_line(exc)}'
                ) from exc
            yield BagMessage(conn.topic, conn.msgtype, log_ns, msg)

    def close(self) -> None:
        if self._reader.is_open:
            self._reader.close()

    def __enter__(self) -> BagReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# -- writing ------------------------------------------------------------------------------------


class BagWriter:
    """
    Write a new rosbag2 directory (mcap or sqlite3) message by message.

    Used as a context manager; when the block raises, the half-written bag
    directory is removed so no broken bag is left behind.
    """

    def __init__(self, path: str | Path, storage: str = 'mcap') -> None:
        self.path = Path(path)
        if storage not in STORAGES:
            raise BagError(f"storage '{storage}' is not supported: use mcap or sqlite3")
        if self.path.exists():
            raise BagError(f"'{self.path}' already exists; remove it or choose another path")
        self.storage = storage
        self.store = typestore()
        plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
        self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=plugin)
        self._conns: dict[str, Any] = {}
        self.count = 0

    def create(self) -> BagWriter:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer.open()
        except Exception as exc:
            raise BagError(f"cannot create bag '{self.path}': {one_line(exc)}") from exc
        return self

    def add_topic(
        self,
        topic: str,
        msgtype: str,
        *,
        store: Typestore | None = None,
        msgdef: str | None = None,
        rihs01: str | None = None,
    ) -> Any:
        """
        Register ``topic``.

        The definition comes from ``msgdef`` + ``rihs01`` when both are given
        (copying a bag's own definition), else from ``store`` (default: ours).
        """
        if topic in self._conns:
            return self._conns[topic]
        if msgdef and rihs01:
            conn = self._writer.add_connection(topic, msgtype, msgdef=msgdef, rihs01=rihs01)
        else:
            conn = self._writer.add_connection(topic, msgtype, typestore=store or self.store)
        self._conns[topic] = conn
        return conn

    def write(self, topic: str, log_ns: int, msg: Any) -> None:
        """Serialise ``msg`` and write it on ``topic`` (registered on first use)."""
        msgtype = msg.__msgtype__
        conn = self.add_topic(topic, msgtype)
        self._writer.write(conn, int(log_ns), self.store.serialize_cdr(msg, msgtype))
        self.count += 1

    def write_raw(self, topic: str, log_ns: int, raw: bytes | memoryview) -> None:
        """Write already-serialised CDR bytes on a registered ``topic``."""
        self._writer.write(self._conns[topic], int(log_ns), raw)
        self.count += 1

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> BagWriter:
        return self.create()

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self._writer.close()
        except Exception:  # the bag is being discarded anyway
            pass
        shutil.rmtree(self.path, ignore_errors=True)


def copy_definition(conn: Any) -> tuple[str | None, str | None]:
    """Return ``(msgdef, rihs01)`` a bag connection carries, or ``(None, None)``."""
    text = _definition_text(conn)
    if not text:
        return None, None
    digest = conn.digest if str(conn.digest).startswith('RIHS01_') else ''
    return text, digest


def _definition_text(conn: Any) -> str:
    return conn.msgdef.data if conn.msgdef is not None else ''
