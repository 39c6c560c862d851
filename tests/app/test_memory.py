"""The allocator setting behind flat memory over model swaps (app/memory.py); the effect
itself is measured by test_lifecycle's 20 retrain -> reload cycles on a real server."""

import platform

import pytest

from app.memory import fix_mmap_threshold


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_mmap_threshold_is_fixed_on_glibc() -> None:
    assert fix_mmap_threshold(1 << 20) is True


def test_zero_leaves_the_allocator_alone() -> None:
    assert fix_mmap_threshold(0) is False
