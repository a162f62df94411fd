"""Atomic, change-aware writes: whole files or nothing, and untouched when unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.outputs import AtomicWriter, write_atomic


class Boom(Exception):
    """Raised on purpose in the middle of a write."""


def write_then_fail(writer: AtomicWriter, data: bytes) -> None:
    """Stream ``data`` through the writer, then fail before the block ends."""
    with writer as out:
        out.write(data)
        raise Boom


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def age(path: Path) -> None:
    """Set an old mtime so an unwanted rewrite could not hide within the clock's resolution."""
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))


def test_write_atomic_creates_file_and_leaves_no_temp(tmp_path: Path) -> None:
    """A new file gets exactly the bytes, the call says it changed, and no temp file remains."""
    target = tmp_path / "report.json"
    assert write_atomic(target, b"hello\n") is True
    assert target.read_bytes() == b"hello\n"
    assert leftovers(tmp_path) == []


def test_write_atomic_creates_missing_parent_directory(tmp_path: Path) -> None:
    """Writing under a directory that does not exist yet creates it."""
    target = tmp_path / "new" / "deeper" / "f.txt"
    assert write_atomic(target, b"x") is True
    assert target.read_bytes() == b"x"


def test_write_atomic_identical_content_leaves_file_untouched(tmp_path: Path) -> None:
    """Same bytes again: returns False and the file keeps its inode and mtime_ns."""
    target = tmp_path / "metadata.jsonl"
    write_atomic(target, b'{"a":1}\n')
    age(target)
    before = target.stat()
    assert write_atomic(target, b'{"a":1}\n') is False
    after = target.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert leftovers(tmp_path) == []


def test_write_atomic_different_content_of_same_size_replaces(tmp_path: Path) -> None:
    """Equal size is not equal content: the file is replaced and the call says so."""
    target = tmp_path / "f.txt"
    write_atomic(target, b"aaaa")
    assert write_atomic(target, b"aaab") is True
    assert target.read_bytes() == b"aaab"


def test_write_atomic_respects_umask_not_private_temp_mode(tmp_path: Path) -> None:
    """The file gets the usual permissions (0o666 less the umask), not a temp file's 0o600."""
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "f.txt", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644


def test_write_atomic_failure_keeps_old_file_and_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the rename fails, the old content stays, the error surfaces, and the temp is gone."""
    target = tmp_path / "f.txt"
    target.write_bytes(b"old")

    def failing_replace(src: object, dst: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_atomic_writer_streams_into_place(tmp_path: Path) -> None:
    """Chunks written through the writer become the file on a clean exit; changed is True."""
    target = tmp_path / "metadata.jsonl"
    with AtomicWriter(target) as out:
        for i in range(1000):
            out.write(f'{{"i":{i}}}\n'.encode())
        assert not target.exists()  # readers never see a partial file
    assert out.changed is True
    assert target.read_bytes().count(b"\n") == 1000
    assert leftovers(tmp_path) == []


def test_atomic_writer_identical_content_leaves_file_untouched(tmp_path: Path) -> None:
    """Streaming the same bytes again discards the temp file and keeps mtime_ns."""
    target = tmp_path / "metadata.jsonl"
    chunks = [b"one\n", b"two\n", b"three\n"]
    with AtomicWriter(target) as first:
        for chunk in chunks:
            first.write(chunk)
    age(target)
    before = target.stat().st_mtime_ns
    with AtomicWriter(target) as second:
        for chunk in chunks:
            second.write(chunk)
    assert (first.changed, second.changed) == (True, False)
    assert target.stat().st_mtime_ns == before
    assert leftovers(tmp_path) == []


def test_atomic_writer_same_size_different_bytes_replaces(tmp_path: Path) -> None:
    """The hash, not only the size, decides: same length, new bytes, the file is replaced."""
    target = tmp_path / "f.jsonl"
    target.write_bytes(b"abc\n")
    with AtomicWriter(target) as out:
        out.write(b"abd\n")
    assert out.changed is True
    assert target.read_bytes() == b"abd\n"


def test_atomic_writer_exception_mid_write_discards(tmp_path: Path) -> None:
    """An exception mid-stream leaves the old file as it was and no temp file behind."""
    target = tmp_path / "metadata.jsonl"
    target.write_bytes(b"old\n")
    writer = AtomicWriter(target)
    with pytest.raises(Boom):
        write_then_fail(writer, b"partial")
    assert writer.changed is False
    assert target.read_bytes() == b"old\n"
    assert leftovers(tmp_path) == []


def test_atomic_writer_exception_on_new_file_creates_nothing(tmp_path: Path) -> None:
    """An interrupted first write leaves no file at all rather than a truncated one."""
    target = tmp_path / "failures.jsonl"
    with pytest.raises(Boom):
        write_then_fail(AtomicWriter(target), b"x" * 10_000)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_writer_write_outside_block_is_an_error(tmp_path: Path) -> None:
    """Writing before entering the block is a programming error, not a silent no-op."""
    with pytest.raises(RuntimeError, match="outside"):
        AtomicWriter(tmp_path / "f").write(b"x")


def stream_into(target: Path, data: bytes, chunk: int = 4096) -> AtomicWriter:
    """Write ``data`` through an AtomicWriter in ``chunk``-sized pieces."""
    with AtomicWriter(target) as out:
        for start in range(0, len(data), chunk):
            out.write(data[start : start + chunk])
    return out


def numbered_lines(count: int, tag: str = "") -> bytes:
    return b"".join(f'{{"row":{i}{tag}}}\n'.encode() for i in range(count))


def test_atomic_writer_writes_nothing_while_the_bytes_match(tmp_path: Path) -> None:
    """Bytes equal to the existing file's so far are compared only: no temp file appears."""
    target = tmp_path / "metadata.jsonl"
    target.write_bytes(b"one\ntwo\n")
    with AtomicWriter(target) as out:
        out.write(b"one\n")
        out.write(b"two\n")
        assert leftovers(tmp_path) == []
    assert out.changed is False


@pytest.mark.parametrize(
    ("old", "new"), [(b"abc\ndef\n", b"abc\n"), (b"abc\n", b"abc\ndef\n"), (b"abc\n", b"")]
)
def test_atomic_writer_prefix_of_either_side_is_a_change(
    tmp_path: Path, old: bytes, new: bytes
) -> None:
    """Output that stops short of the old file, or runs past it, replaces it."""
    target = tmp_path / "f.jsonl"
    target.write_bytes(old)
    assert stream_into(target, new).changed is True
    assert target.read_bytes() == new
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_atomic_writer_diverging_late_keeps_the_matched_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_copy: bool
) -> None:
    """A file that differs after megabytes of matching rows gets those rows copied in place,
    by copy_file_range or, where the kernel refuses, by plain reads."""
    if not kernel_copy:

        def refuse(*args: object) -> int:
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr(os, "copy_file_range", refuse)
    target = tmp_path / "metadata.jsonl"
    target.write_bytes(numbered_lines(150_000))
    new = numbered_lines(100_000) + numbered_lines(60_000, tag=',"new":1')
    assert stream_into(target, new, chunk=1000).changed is True
    assert target.read_bytes() == new
    assert leftovers(tmp_path) == []
