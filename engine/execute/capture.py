"""One stream of a step's output: the first ``cap`` bytes decoded in memory, and once past the cap
the whole stream spilled to a file (up to ``spill_cap`` bytes) while reading continues, so the
child never blocks on a full pipe.

Redaction comes first, on the byte stream as it arrives (``StreamRedactor``: bytes are held back
to a newline, or to a PEM block's end, up to 64 KiB), so that what is kept, what the client sees
live and what is spilled are all redacted, whichever way the stream was cut into reads, lines or
notifications: a token printed across a read or an 8 KiB line is still masked whole.
"""

from __future__ import annotations

import codecs
import logging
import os
from pathlib import Path

from engine.execute.process import OutputSink, ProcessSpec
from engine.secrets import StreamRedactor
from engine.vocab import Stream

log = logging.getLogger(__name__)

_SPILL_DIR_MODE = 0o700
_SPILL_FILE_MODE = 0o600  # output may hold secrets


class Capture:
    """One stream: the first ``cap`` bytes decoded in memory, everything spilled once past it."""

    def __init__(self, stream: Stream, spec: ProcessSpec, on_output: OutputSink | None) -> None:
        self.stream: Stream = stream
        self.cap = spec.output_cap
        self.on_output = on_output
        self.spill = Spill(stream, spec)
        self._redactor = None if spec.redact is None else StreamRedactor(spec.redact)
        self.redaction_failed = False
        self.size = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._kept = bytearray()  # raw prefix, written first when the spill starts
        self._parts: list[str] = []

    @property
    def truncated(self) -> bool:
        return self.size > self.cap

    @property
    def spilled(self) -> bool:
        return self.truncated and not self.spill.failed

    def feed(self, data: bytes | bytearray) -> None:
        if self._redactor is None:
            self._take(data)
            return
        try:
            ready = self._redactor.feed(data)
        except Exception:  # a redaction bug: drop the output rather than pass it on unredacted
            self._redaction_failed()
            return
        if ready:
            self._take(ready)

    def _redaction_failed(self) -> None:
        if not self.redaction_failed:
            log.exception("redaction failed; the rest of this %s is dropped", self.stream)
        self.redaction_failed = True
        self._redactor = StreamRedactor(lambda text: "")  # keeps reading, passes nothing on

    def _take(self, data: bytes | bytearray) -> None:
        room = self.cap - self.size
        self.size += len(data)
        if room > 0:
            head = data if len(data) <= room else data[:room]
            self._kept += head
            text = self._decoder.decode(head)
            if text:
                self._parts.append(text)
                self._emit(text)
        if self.size > self.cap:
            if self._kept:
                self.spill.write(self._kept)
                self._kept = bytearray()
            self.spill.write(memoryview(data)[max(room, 0) :])

    def text(self) -> str:
        if not self.truncated:  # a cut capture drops a half char instead of showing U+FFFD
            tail = self._decoder.decode(b"", final=True)
            if tail:
                self._parts.append(tail)
        return "".join(self._parts)

    def close(self) -> None:
        """The stream ended: pass on what redaction still held, then close the spill."""
        if self._redactor is not None:
            try:
                rest = self._redactor.flush()
            except Exception:
                self._redaction_failed()
                rest = b""
            if rest:
                self._take(rest)
        self.spill.close()

    def _emit(self, text: str) -> None:
        if self.on_output is None:
            return
        try:
            self.on_output(self.stream, text)
        except Exception:  # a broken listener must not stop the draining
            log.exception("output listener failed; no more output is sent to it")
            self.on_output = None


class Spill:
    """A stream's spill file: its whole (already redacted) output, cut at ``spill_cap`` bytes.

    Past the cap, or after a failure, the output is dropped (the caller keeps draining).
    """

    def __init__(self, stream: Stream, spec: ProcessSpec) -> None:
        self.path = spec.spill_dir / f"{spec.spill_name}.{stream}"
        self.cap = spec.spill_cap
        self.written = 0
        self.cut = False  # output was dropped at the cap
        self.failed = False
        self._fd: int | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.failed or self.cut:
            return
        try:
            if self._fd is None:
                self._fd = _open_spill(self.path.parent, self.path.name)
            self._put(self._fd, data)
        except OSError:
            self._fail()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _put(self, fd: int, data: bytes | bytearray | memoryview) -> None:
        room = self.cap - self.written
        if len(data) > room:
            data, self.cut = data[:room], True
        _write_all(fd, memoryview(data))
        self.written += len(data)

    def _fail(self) -> None:
        log.exception("cannot spill to %s; discarding the rest", self.path)
        self.failed = True
        self.close()


def _open_spill(spill_dir: Path, name: str) -> int:
    spill_dir.mkdir(mode=_SPILL_DIR_MODE, parents=True, exist_ok=True)
    # No symlink in the last two places: the step itself may have planted one there.
    dir_fd = os.open(spill_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        try:
            return os.open(name, flags, _SPILL_FILE_MODE, dir_fd=dir_fd)
        except FileExistsError:
            os.unlink(name, dir_fd=dir_fd)
            return os.open(name, flags, _SPILL_FILE_MODE, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]
