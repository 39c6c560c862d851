"""A change token shared by the worker processes of one host: "the store changed, look again".

A writer stores a fresh random 64-bit token after it commits; every process compares the
token with the one it last saw, which costs a memory read, so request handlers can check it
on every request. It lives in an 8-byte memory-mapped file in the temp folder named after the
database URL, so processes of one deployment share it and other deployments do not.
Processes on other hosts do not see it; they rely on the periodic refresh.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import secrets
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

TOKEN_BYTES = 8


def signal_path(database_url: str) -> Path:
    """The token file for a store: one per database URL and user, in the temp folder."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"recoserve-{os.getuid()}-{digest}.signal"


class ChangeSignal:
    """A shared token (see the module docstring); `None` from `open` when the file can't be
    mapped, in which case only the periodic refresh keeps workers current."""

    def __init__(self, mapped: mmap.mmap) -> None:
        self._map = mapped

    @classmethod
    def open(cls, path: Path) -> ChangeSignal | None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size < TOKEN_BYTES:
                    os.ftruncate(fd, TOKEN_BYTES)
                return cls(mmap.mmap(fd, TOKEN_BYTES))
            finally:
                os.close(fd)
        except OSError as error:
            log.warning("no change signal at %s (%s): workers rely on the refresh", path, error)
            return None

    def token(self) -> int:
        """The current token: aligned 8-byte reads and writes are atomic on mapped memory."""
        return int.from_bytes(self._map[:TOKEN_BYTES], "little")

    def bump(self) -> None:
        """Tell every process of this host that the store changed."""
        self._map[:TOKEN_BYTES] = secrets.token_bytes(TOKEN_BYTES)
