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
One reader of recordings: rosbag2 bags, videos and class folders -> labelled frames.

``open_recording(path)`` looks at what it is given and picks the reader:

* a **bag** (a rosbag2 directory, or its .mcap / .db3 file): the image topic
  (``Image`` or ``CompressedImage``) decoded by the runtime's own decoders;
  labels from ``labels.plan_labels`` (``--labels``, the ``/grasp/label`` topic,
  a sidecar ``<bag>.labels.yaml``, the bag's episodes.yaml);
* a **video** (.mp4, .avi, .mov, .mkv, via OpenCV): labels from an interval
  file (``--labels`` or the sidecar ``<video>.labels.yaml``), times relative to
  the first frame;
* a **class folder** (``grasped/``, ``notgrasped/``, ... of image files): the
  label is the folder's meaning, each file's group its session prefix;
* a **folder of bags** (any depth, e.g. the node's capture folder
  ``capture_dir/<node>/<date>/<bag>``): every bag in it, in name order, each its own
  recording (group: the folder's name and the bag's path inside it).

Every kind yields the same ``Frame``: the camera image as recorded (RGB; the
mount and ROI are the consumer's, through ``preprocess.crop_resize``), its
label, its group (the recording: cross-validation never splits one) and its
episode (a labelled grasp attempt). Unlabelled frames are dropped and counted,
never guessed; an unreadable frame is skipped and counted. Sampling
(``every``, ``max_per_episode``) thins near-identical neighbours before any
image is decoded. Every failure is a ``RecordingError`` with one line naming
the file and the fix.

``evaluate_bag`` shares the bag half (``choose_image_topic``, ``plan_labels``);
``grasp-train`` reads everything through ``collect`` (or ``open_recordings``, to
stream the frames). ``Timeline`` reads a bag or video not labelled yet (frame
times, trigger messages, chosen frames decoded) for ``grasp-train label``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .image_folder import group_of, GROUP_REGEX, IMAGE_SUFFIXES, list_images
from .io import BagError, BagReader
from .labels import (
    attach_labels,
    LabelError,
    LabelPlan,
    load_intervals,
    parse_label,
    plan_labels,
    resolve_intervals,
    sidecar_path,
    trigger_events,
)
from .replay import FrameRecord
from ..core.errors import GraspClassifierError, ImageConversionError
from ..core.image_codec import DecodedImage, to_color_order
from ..core.interfaces import IMAGE_TYPES, input_kind_of_type, LABEL
from ..core.stamps import NS, stamp_to_ns

VIDEO_SUFFIXES = frozenset({'.mp4', '.avi', '.mov', '.mkv', '.m4v'})
BAG_SUFFIXES = frozenset({'.mcap', '.db3'})
DEFAULT_EPISODE_GAP_S = 0.5
# Frames larger than this are refused before decoding (the node's max_pixels default).
MAX_PIXELS = 4096 * 4096


class RecordingError(GraspClassifierError):
    """A recording cannot be read or labelled as asked; the message names it and the fix."""


@dataclass(frozen=True)
class Frame:
    """One labelled frame, wherever it came from."""

    image: np.ndarray  # HxWx3 uint8 RGB, as the camera delivered it
    label: bool  # True: the grasp held
    group: str  # the recording (bag, video, folder session): CV never splits one
    episode: int  # labelled attempt within the recording (its index among the episodes)
    t_ns: int | None  # header stamp (bag), time since the first frame (video); None: file
    key: str  # unique name: '<group>/<frame index>' or '<class folder>/<file>'


@dataclass(frozen=True)
class Sampling:
    """Which labelled frames to keep: every ``every``-th, at most ``max_per_episode`` each."""

    every: int = 1
    max_per_episode: int = 0  # 0: no limit

    def __post_init__(self) -> None:
        if type(self.every) is not int or self.every < 1:
            raise RecordingError(f'--every {self.every!r} must be a whole number >= 1')
        if type(self.max_per_episode) is not int or self.max_per_episode < 0:
            raise RecordingError(
                f'--max-per-episode {self.max_per_episode!r} must be >= 0 (0: no limit)'
            )

    def pick(self, episodes: Sequence[int | None], labelled: Sequence[bool]) -> list[int]:
        """
        Return the positions to keep, in order.

        Every ``every``-th frame of the recording is a candidate; candidates that are
        labelled are kept, at most ``max_per_episode`` evenly spaced ones per episode.
        """
        by_episode: dict[int | None, list[int]] = {}
        for i in range(0, len(episodes), self.every):
            if labelled[i]:
                by_episode.setdefault(episodes[i], []).append(i)
        keep: list[int] = []
        for members in by_episode.values():
            if self.max_per_episode and len(members) > self.max_per_episode:
                at = np.linspace(0, len(members) - 1, self.max_per_episode).round().astype(int)
                members = [members[j] for j in at]
            keep.extend(members)
        return sorted(keep)


@dataclass
class RecordingInfo:
    """What a recording held and what was taken from it (for reports and errors)."""

    path: Path
    kind: str  # 'bag' | 'video' | 'folder'
    group: str
    source: str  # the images: topic and type, video codec and rate, or folder
    labels: str  # where the labels came from
    origin: Path | None = None  # the source as given: the bag itself, or its folder of bags
    frames: int = 0  # image frames in the recording
    unlabelled: int = 0  # dropped: outside every labelled episode
    kept: int = 0  # after sampling (before unreadable frames)
    unreadable: int = 0  # skipped: could not be decoded
    episodes: dict[str, int] = field(default_factory=dict)  # 'success'/'failure' -> count
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Say in one line what was read."""
        eps = ', '.join(f'{n} {k}' for k, n in sorted(self.episodes.items()))
        parts = [
            f"{self.kind} '{self.path}' ({self.source}): {self.frames} frames",
            f'labels from {self.labels}',
            f'{sum(self.episodes.values())} episodes ({eps or "none"})',
            f'{self.kept - self.unreadable} frames taken',
        ]
        if self.unlabelled:
            parts.append(f'{self.unlabelled} unlabelled frames dropped')
        if self.unreadable:
            parts.append(f'{self.unreadable} unreadable frames skipped')
        return '; '.join(parts)


@dataclass(frozen=True)
class ReadOptions:
    """How to read recordings: the choices ``grasp-train`` and ``evaluate_bag`` share."""

    image_topic: str | None = None
    preferred_topic: str = ''  # used when present (the node's image_topic), else the only one
    label_topic: str | None = None
    labels: Path | None = None  # an interval file for a single recording
    labels_time: str = 'auto'
    episode_gap_s: float = DEFAULT_EPISODE_GAP_S
    sampling: Sampling = Sampling()
    group_regex: str = GROUP_REGEX  # class folders: the session part of a file name


def recording_kind(path: Path) -> str:
    """Return 'bag', 'video', 'folder' or 'bags' (a folder of bags); else RecordingError."""
    if not path.exists():
        raise RecordingError(f"'{path}' does not exist")
    if path.is_dir():
        if (path / 'metadata.yaml').is_file():
            return 'bag'
        if any(d.is_dir() and _has_images(d) for d in path.iterdir()):
            return 'folder'
        if bags_in(path):
            return 'bags'
    elif path.suffix.lower() in BAG_SUFFIXES:
        return 'bag'
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        return 'video'
    raise RecordingError(
        f"'{path}' is neither a rosbag2 bag (a folder with metadata.yaml, or its .mcap/.db3), "
        f'a video ({", ".join(sorted(VIDEO_SUFFIXES))}), a class folder '
        '(grasped/*.jpg, notgrasped/*.jpg) nor a folder of bags (a capture folder)'
    )


def bags_in(folder: Path) -> list[Path]:
    """Return the rosbag2 bag directories below ``folder`` (any depth), in path order."""
    found: list[Path] = []
    for meta in sorted(folder.rglob('metadata.yaml')):
        bag = meta.parent
        if not any(p in found for p in bag.parents):  # not a folder inside a bag
            found.append(bag)
    return found


def expand_sources(paths: Sequence[Path]) -> list[tuple[Path, Path]]:
    """Return ``(recording, origin)`` per recording: folders of bags become their bags."""
    out: list[tuple[Path, Path]] = []
    for p in paths:
        if p.is_dir() and not (p / 'metadata.yaml').is_file() and recording_kind(p) == 'bags':
            out.extend((bag, p) for bag in bags_in(p))
        else:
            out.append((p, p))
    return out


def _has_images(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir() if p.is_file())


def choose_image_topic(reader: BagReader, requested: str | None, preferred: str = '') -> str:
    """Pick the image topic: as requested, else ``preferred`` if present, else the only one."""
    images = reader.topics_of_type(*IMAGE_TYPES)
    if requested:
        if requested not in reader.topics:
            raise RecordingError(
                f"image topic '{requested}' is not in the bag; topics: {reader.topic_summary()}"
            )
        info = reader.topics[requested]
        if info.msgtype not in IMAGE_TYPES:
            raise RecordingError(
                f"topic '{requested}' is of type {info.msgtype}, expected "
                f'{" or ".join(IMAGE_TYPES)}'
            )
        return requested
    if preferred in images:
        return preferred
    if len(images) == 1:
        return images[0]
    if not images:
        raise RecordingError(
            f"bag '{reader.path}' has no sensor_msgs Image or CompressedImage topic; topics: "
            f'{reader.topic_summary()}'
        )
    raise RecordingError(
        f"bag '{reader.path}' has several image topics ({', '.join(images)}); choose one with "
        '--image-topic'
    )


class Recording:
    """An opened recording: ``info`` says what it holds, ``frames()`` yields what is kept."""

    def __init__(self, path: Path, options: ReadOptions, group: str | None = None) -> None:
        self.path = Path(path)
        self.options = options
        self.kind = recording_kind(self.path)
        if self.kind == 'bags':
            raise RecordingError(
                f"'{self.path}' is a folder of {len(bags_in(self.path))} bags: read it with "
                'open_recordings (or give one of its bags)'
            )
        name = group or (self.path.name if self.path.is_dir() else self.path.stem)
        self.info = RecordingInfo(self.path, self.kind, name, '', 'none')
        self._plan: list[tuple[int, bool, int]] = []  # (position, label, episode) to decode
        if self.kind == 'bag':
            self._scan_bag()
        elif self.kind == 'video':
            self._scan_video()
        else:
            self._scan_folder()

    # -- pass 1: stamps and labels, no image decoded -------------------------------------

    def _scan_bag(self) -> None:
        o = self.options
        with _open_bag(self.path) as reader:
            topic = choose_image_topic(reader, o.image_topic, o.preferred_topic)
            self._topic = topic
            msgtype = reader.topics[topic].msgtype
            self.info.source = f'{topic}, {msgtype.rsplit("/", 1)[-1]}'
            try:
                plan = plan_labels(
                    reader, labels=o.labels, labels_time=o.labels_time, label_topic=o.label_topic
                )
            except LabelError as exc:
                raise RecordingError(str(exc)) from exc
            self.info.notes.extend(plan.notes)
            if not plan.labelled:
                raise RecordingError(self._no_labels_reason(reader))
            records = [
                FrameRecord(i, _stamp(m.msg), m.log_ns)
                for i, m in enumerate(_messages(reader, topic))
            ]
        self._label(records, plan)

    def _no_labels_reason(self, reader: BagReader | None) -> str:
        topic = self.options.label_topic or LABEL.in_bag
        has = f'no {topic} topic (topics: {reader.topic_summary()}), ' if reader else ''
        sidecar = sidecar_path(self.path)
        return (
            f"'{self.path}' has no labels: {has}no --labels file and no sidecar '{sidecar}'; "
            f"label it with 'grasp-train label {self.path} --out {sidecar}'"
        )

    def _scan_video(self) -> None:
        o = self.options
        fps, count = _video_info(self.path)
        self._fps = fps
        self.info.source = f'{count} frames at {fps:g} fps'
        labels = o.labels or sidecar_path(self.path)
        if not labels.is_file():
            raise RecordingError(self._no_labels_reason(None))
        base = o.labels_time if o.labels_time != 'auto' else 'relative'
        if base != 'relative':
            raise RecordingError(
                f"'{labels}': a video's labels are seconds from its first frame "
                '(time_base: relative)'
            )
        duration_ns = round((count - 1) / fps * NS)
        try:
            episodes, _ = resolve_intervals(load_intervals(labels), 0, duration_ns, base)
        except LabelError as exc:
            raise RecordingError(str(exc)) from exc
        self.info.labels = f'{labels} (seconds from the first frame)'
        records = [FrameRecord(i, round(i / fps * NS), round(i / fps * NS)) for i in range(count)]
        self._label(records, LabelPlan(source=str(labels), episodes=episodes))

    def _label(self, records: list[FrameRecord], plan: LabelPlan) -> None:
        """Attach labels and episodes, drop the unlabelled, sample, and plan the decode."""
        o = self.options
        self.info.frames = len(records)
        if not records:
            raise RecordingError(f"'{self.path}': the image topic has no frames")
        if self.info.labels == 'none':
            self.info.labels = plan.source
        attach_labels(records, plan, o.episode_gap_s)
        labelled = [r.label is not None for r in records]
        if not any(labelled):
            t0, t1 = records[0].stamp_ns / NS, records[-1].stamp_ns / NS
            raise RecordingError(
                f"'{self.path}': the labels ({plan.source}) cover none of its {len(records)} "
                f'frames (stamps {t0:.3f} .. {t1:.3f} s); wrong label file, or labels '
                'published after the frames?'
            )
        self.info.unlabelled = len(records) - sum(labelled)
        # Episodes in order of appearance; frames of no episode (topic labels between
        # attempts) form their own run per label.
        episode_ids: dict[tuple[int | None, bool], int] = {}
        eps: list[int | None] = []
        for r in records:
            if r.label is None:
                eps.append(None)
                continue
            key = (r.episode, r.label)
            eps.append(episode_ids.setdefault(key, len(episode_ids)))
        for _, lab in episode_ids:
            name = 'success' if lab else 'failure'
            self.info.episodes[name] = self.info.episodes.get(name, 0) + 1
        keep = o.sampling.pick(eps, labelled)
        # every kept index is labelled, so its episode is an int
        self._plan = [(i, bool(records[i].label), int(eps[i] or 0)) for i in keep]
        self._stamps = [records[i].stamp_ns for i in keep]
        self.info.kept = len(keep)

    def _scan_folder(self) -> None:
        files: list[tuple[Path, bool]] = []
        for d in sorted(p for p in self.path.iterdir() if p.is_dir() and _has_images(p)):
            try:
                label = parse_label(d.name, f"class folder '{d}'")
            except LabelError as exc:
                raise RecordingError(
                    f'{exc}: name class folders for success (grasped, success) or failure '
                    '(notgrasped, failure)'
                ) from exc
            files.extend((f, label) for f in list_images(d))
        self._files = files
        self.info.source = 'class folders'
        self.info.labels = 'class folder names'
        self.info.frames = self.info.kept = len(files)
        groups = {group_of(f.stem, self.options.group_regex) for f, _ in files}
        for lab in (True, False):
            n = len({group_of(f.stem, self.options.group_regex) for f, y in files if y == lab})
            if n:
                self.info.episodes['success' if lab else 'failure'] = n
        self.info.group = f'{len(groups)} sessions'

    # -- pass 2: decode what was kept ------------------------------------------------------

    def frames(self) -> Iterator[Frame]:
        """Yield the kept frames in recorded order (unreadable ones skipped and counted)."""
        self.info.unreadable = 0
        if self.kind == 'bag':
            yield from self._bag_frames()
        elif self.kind == 'video':
            yield from self._video_frames()
        else:
            yield from self._folder_frames()

    def _bag_frames(self) -> Iterator[Frame]:
        wanted = {pos: (label, ep, t) for (pos, label, ep), t in zip(self._plan, self._stamps)}
        group = self.info.group
        with _open_bag(self.path) as reader:
            for i, rgb in _decode_bag(reader, self._topic, wanted):
                if rgb is None:
                    self.info.unreadable += 1
                    continue
                label, ep, t = wanted[i]
                yield Frame(rgb, label, group, ep, t, f'{group}/{i:06d}')

    def _video_frames(self) -> Iterator[Frame]:
        wanted = {pos: (label, ep) for pos, label, ep in self._plan}
        group = self.info.group
        for i, rgb in _decode_video(self.path, wanted):
            if rgb is None:
                self.info.unreadable += 1
                continue
            label, ep = wanted[i]
            yield Frame(rgb, label, group, ep, round(i / self._fps * NS), f'{group}/{i:06d}')

    def _folder_frames(self) -> Iterator[Frame]:
        import cv2

        episodes: dict[str, int] = {}
        for path, label in self._files:
            buf = np.fromfile(str(path), dtype=np.uint8)
            bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
            if bgr is None:
                self.info.unreadable += 1
                continue
            group = group_of(path.stem, self.options.group_regex)
            ep = episodes.setdefault(f'{group}/{label}', len(episodes))
            key = f'{path.parent.name}/{path.name}'
            yield Frame(np.ascontiguousarray(bgr[..., ::-1]), label, group, ep, None, key)


def _video_info(path: Path) -> tuple[float, int]:
    """Return a video's frame rate and frame count; RecordingError when OpenCV cannot tell."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise RecordingError(
                f"cannot open video '{path}': unreadable file or a codec OpenCV lacks"
            )
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    if fps <= 0 or count <= 0:
        raise RecordingError(
            f"video '{path}' reports no frame rate or frame count; re-encode it "
            '(e.g. ffmpeg -i in.mov out.mp4)'
        )
    return fps, count


def _decode_bag(
    reader: BagReader, topic: str, positions: Collection[int]
) -> Iterator[tuple[int, np.ndarray | None]]:
    """Yield ``(position, RGB)`` of the wanted frames of ``topic``; None when undecodable."""
    kind = input_kind_of_type(reader.topics[topic].msgtype)
    assert kind is not None  # choose_image_topic returned an image topic
    last = max(positions, default=-1)
    for i, m in enumerate(_messages(reader, topic)):
        if i > last:
            return
        if i not in positions:
            continue
        try:
            yield i, _rgb(kind.decode(m.msg, MAX_PIXELS, None))
        except ImageConversionError:
            yield i, None


def _decode_video(
    path: Path, positions: Collection[int]
) -> Iterator[tuple[int, np.ndarray | None]]:
    """Yield ``(position, RGB)`` of the wanted frames of a video; None when unreadable."""
    import cv2

    last = max(positions, default=-1)
    cap = cv2.VideoCapture(str(path))
    try:
        for i in range(last + 1):
            if not cap.grab():
                for p in sorted(p for p in positions if p >= i):
                    yield p, None
                return
            if i not in positions:
                continue
            ok, bgr = cap.retrieve()
            if not ok or bgr is None or bgr.ndim != 3:
                yield i, None
                continue
            yield i, np.ascontiguousarray(bgr[..., ::-1])
    finally:
        cap.release()


def _open_bag(path: Path) -> BagReader:
    try:
        return BagReader(path)
    except BagError as exc:
        raise RecordingError(str(exc)) from exc


def _messages(reader: BagReader, topic: str) -> Iterator[Any]:
    try:
        yield from reader.messages([topic])
    except BagError as exc:
        raise RecordingError(str(exc)) from exc


def _stamp(msg: Any) -> int:
    try:
        return stamp_to_ns(msg.header.stamp)
    except (AttributeError, TypeError, ValueError, OverflowError):
        return 0


def _rgb(img: DecodedImage) -> np.ndarray:
    return np.ascontiguousarray(to_color_order(img, 'rgb'))


def read_frame(
    path: str | Path, index: int | None = None, image_topic: str | None = None
) -> tuple[np.ndarray, int, int]:
    """
    Return one frame of a bag or video, labelled or not: ``(rgb, index, frame count)``.

    ``index`` None: the middle frame. For choosing the camera mount before labelling.
    """
    path = Path(path)
    kind = recording_kind(path)
    if kind == 'folder':
        raise RecordingError(f"'{path}' is a class folder: preview one of its image files")
    if kind == 'bags':
        raise RecordingError(f"'{path}' is a folder of bags: preview one of its bags")
    if kind == 'video':
        import cv2

        cap = cv2.VideoCapture(str(path))
        try:
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            at = count // 2 if index is None else index
            if not 0 <= at < max(count, 1):
                raise RecordingError(f"frame {at} is not in '{path}' ({count} frames)")
            cap.set(cv2.CAP_PROP_POS_FRAMES, at)
            ok, bgr = cap.read()
        finally:
            cap.release()
        if not ok or bgr is None:
            raise RecordingError(f"cannot read frame {at} of video '{path}'")
        return np.ascontiguousarray(bgr[..., ::-1]), at, count
    with _open_bag(path) as reader:
        topic = choose_image_topic(reader, image_topic)
        count = reader.topics[topic].count
        at = count // 2 if index is None else index
        if not 0 <= at < count:
            raise RecordingError(f"frame {at} is not in '{path}' ({count} frames on {topic})")
        kind_ = input_kind_of_type(reader.topics[topic].msgtype)
        assert kind_ is not None
        for i, m in enumerate(_messages(reader, topic)):
            if i == at:
                try:
                    return _rgb(kind_.decode(m.msg, MAX_PIXELS, None)), at, count
                except ImageConversionError as exc:
                    raise RecordingError(
                        f"frame {at} of '{path}' cannot be decoded: {exc}"
                    ) from exc
    raise RecordingError(f"'{path}' ended before frame {at}")


class Timeline:
    """
    A bag's or video's frames before any label: when each was taken; chosen ones decoded.

    ``stamps_ns[i]`` is frame i's header stamp (bag) or its time from the first frame
    (video): what label files are matched against. ``triggers``: the messages of
    ``trigger_topic`` (``labels.trigger_events``), for ``labels.split_episodes``.
    For labelling a recording (``grasp-train label``); labelled frames come from
    ``open_recording``.
    """

    def __init__(
        self,
        path: str | Path,
        image_topic: str | None = None,
        preferred_topic: str = '',
        trigger_topic: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.kind = recording_kind(self.path)
        self.topic: str | None = None
        self.topics: tuple[str, ...] = ()  # a bag's topics
        self.triggers: list[tuple[int, bool]] | None = None
        if self.kind == 'folder':
            raise RecordingError(
                f"'{self.path}' is a class folder: its images are labelled by their folders"
            )
        if self.kind == 'bags':
            raise RecordingError(f"'{self.path}' is a folder of bags: label its bags one by one")
        if self.kind == 'video':
            if trigger_topic:
                raise RecordingError(
                    f"'{self.path}' is a video: it has no topics, so no trigger topic; "
                    'split it at gaps (--gap)'
                )
            fps, count = _video_info(self.path)
            self.source = f'{count} frames at {fps:g} fps'
            self.stamps_ns = [round(i / fps * NS) for i in range(count)]
            return
        with _open_bag(self.path) as reader:
            self.topic = choose_image_topic(reader, image_topic, preferred_topic)
            self.topics = tuple(reader.topics)
            msgtype = reader.topics[self.topic].msgtype
            self.source = f'{self.topic}, {msgtype.rsplit("/", 1)[-1]}'
            self.stamps_ns = [_stamp(m.msg) for m in _messages(reader, self.topic)]
            if trigger_topic:
                try:
                    self.triggers = trigger_events(reader, trigger_topic)
                except LabelError as exc:
                    raise RecordingError(str(exc)) from exc
        if not self.stamps_ns:
            raise RecordingError(f"'{self.path}': the image topic {self.topic} has no frames")

    def images(self, positions: Collection[int]) -> Iterator[tuple[int, np.ndarray | None]]:
        """Yield ``(position, RGB as recorded)`` of the wanted frames; None when unreadable."""
        if self.kind == 'video':
            yield from _decode_video(self.path, positions)
            return
        assert self.topic is not None
        with _open_bag(self.path) as reader:
            yield from _decode_bag(reader, self.topic, positions)


def open_recording(path: str | Path, options: ReadOptions = ReadOptions()) -> Recording:
    """Open a bag, video or class folder (pass 1: labels and sampling; nothing decoded yet)."""
    return Recording(Path(path), options)


def iter_frames(path: str | Path, options: ReadOptions = ReadOptions()) -> Iterator[Frame]:
    """Yield the labelled, sampled frames of one recording."""
    yield from open_recording(path, options).frames()


@dataclass
class Collected:
    """Frames of several recordings, as parallel lists (what training wraps)."""

    images: list[np.ndarray]
    labels: np.ndarray  # bool
    groups: list[str]
    episodes: list[str]  # '<group>#<episode>': unique across recordings
    keys: list[str]
    recordings: list[RecordingInfo]

    def __len__(self) -> int:
        return len(self.images)


def collect(
    sources: Iterable[str | Path],
    options: ReadOptions = ReadOptions(),
    *,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    log: Callable[[str], None] | None = None,
) -> Collected:
    """
    Read every source; ``transform`` maps each image as it is read (e.g. to the cache size).

    Every source is opened first (``open_recordings``: a label problem in the last one
    stops before any frame is decoded), then read in turn.
    """
    recordings = open_recordings(sources, options)
    out = Collected([], np.zeros(0, bool), [], [], [], [])
    labels: list[bool] = []
    seen: set[str] = set()
    for rec in recordings:
        for f in rec.frames():
            if f.key in seen:
                raise RecordingError(
                    f"'{rec.path}': frame '{f.key}' was read twice (same folder?)"
                )
            seen.add(f.key)
            out.images.append(transform(f.image) if transform else f.image)
            labels.append(f.label)
            out.groups.append(f.group)
            out.episodes.append(f'{f.group}#{f.episode}')
            out.keys.append(f.key)
        out.recordings.append(rec.info)
        if log is not None:
            log(rec.info.summary())
            for note in rec.info.notes:
                log(f'note: {note}')
    out.labels = np.asarray(labels, dtype=bool)
    if not len(out.images):
        raise RecordingError(
            'no labelled frame could be read from ' + ', '.join(str(r.path) for r in recordings)
        )
    return out


def open_recordings(
    sources: Iterable[str | Path], options: ReadOptions = ReadOptions()
) -> list[Recording]:
    """
    Open every source (pass 1: labels and sampling, nothing decoded), as ``collect`` reads them.

    Each gets a group unique across the sources (two recordings of the same name get
    their parent folder's name in front); ``options.labels`` applies to a single source.
    """
    given = [Path(s) for s in sources]
    if not given:
        raise RecordingError('no recordings given')
    for p in given:
        recording_kind(p)  # exists, and is something we read
    pairs = expand_sources(given)
    paths = [p for p, _ in pairs]
    if options.labels is not None and len(paths) > 1:
        raise RecordingError(
            f'--labels {options.labels} names the labels of one recording, but {len(paths)} '
            'were given: put each one beside its recording as <name>.labels.yaml'
        )
    out = []
    for (p, origin), n in zip(pairs, _group_names(pairs)):
        rec = Recording(p, options, group=n)
        rec.info.origin = origin
        out.append(rec)
    return out


def _group_names(pairs: list[tuple[Path, Path]]) -> list[str]:
    """
    Each recording's group: its name, or parent/name where two share a name.

    A bag of a folder of bags: the folder's name and the bag's path inside it.
    """
    base = [
        f'{o.name}/{p.relative_to(o).as_posix()}' if p != o else (p.name if p.is_dir() else p.stem)
        for p, o in pairs
    ]
    out = []
    for (p, _), b in zip(pairs, base):
        out.append(f'{p.resolve().parent.name}/{b}' if base.count(b) > 1 else b)
    dupes = {n for n in out if out.count(n) > 1}
    if dupes:
        raise RecordingError(f'recording {sorted(dupes)[0]!r} is given twice')
    return out
