"""The image writer: atomic, durable image files, written in shared batches off the event loop."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
from PIL import Image

from runner.client import decode_image
from runner.scheduler import files
from runner.scheduler.files import IMAGES_DIR, open_image_writer
from runner.types import DecodedImage


def png(seed: int) -> DecodedImage:
    """A tiny real PNG whose pixel differs per seed, checked as the engine checks answers."""
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (seed % 256, 7, 9)).save(buffer, "PNG")
    return decode_image(buffer.getvalue())


@pytest.fixture(params=["on the loop", "in the thread"])
def where(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Small images are written on the event loop, large ones in the writer's thread: test both."""
    if request.param == "in the thread":
        monkeypatch.setattr(files, "INLINE_WRITE_BYTES", 0)
    return str(request.param)


@pytest.mark.asyncio
@pytest.mark.usefixtures("where")
async def test_images_are_written_whole_with_their_records(tmp_path: Path) -> None:
    """Each image lands at images/<item>-<index>.<format> with exactly its bytes and record."""
    images = [png(1), png(2)]
    async with open_image_writer(tmp_path) as writer:
        stored = await writer.write("item1", images)
    assert [s.file_name for s in stored] == ["images/item1-0.png", "images/item1-1.png"]
    for record, image in zip(stored, images, strict=True):
        data = (tmp_path / record.file_name).read_bytes()
        assert data == image.data
        assert record.sha256 == hashlib.sha256(data).hexdigest()
        assert (record.width, record.height, record.nbytes) == (4, 3, len(data))
    assert sorted(p.name for p in (tmp_path / IMAGES_DIR).iterdir()) == [
        "item1-0.png",
        "item1-1.png",
    ]  # no temp file left behind


@pytest.mark.asyncio
async def test_concurrent_items_share_syncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items finishing together are made durable by far fewer filesystem syncs than items."""
    synced: list[int] = []
    real_sync = files.sync_filesystem

    def counting_sync(directory: Path) -> None:
        synced.append(len(list((directory / IMAGES_DIR).iterdir())))
        real_sync(directory)

    monkeypatch.setattr(files, "sync_filesystem", counting_sync)
    async with open_image_writer(tmp_path) as writer, anyio.create_task_group() as tg:
        for i in range(100):
            tg.start_soon(writer.write, f"item{i:03d}", [png(i)])
    assert 1 <= len(synced) < 100
    assert synced[-1] == 100  # the last sync came after every file was in place


@pytest.mark.asyncio
@pytest.mark.usefixtures("where")
async def test_a_failed_write_fails_only_its_item(tmp_path: Path) -> None:
    """An image that cannot be written raises for its item; the others in its batch are stored."""
    (tmp_path / IMAGES_DIR).mkdir()
    (tmp_path / IMAGES_DIR / "bad-0.png").mkdir()  # a directory where the file should go
    outcomes: dict[str, object] = {}

    async def write(item_id: str) -> None:
        try:
            outcomes[item_id] = await writer.write(item_id, [png(5)])
        except OSError as exc:
            outcomes[item_id] = exc

    async with open_image_writer(tmp_path) as writer, anyio.create_task_group() as tg:
        for item_id in ("good1", "bad", "good2"):
            tg.start_soon(write, item_id)
    assert isinstance(outcomes["bad"], OSError)
    assert (tmp_path / IMAGES_DIR / "good1-0.png").read_bytes() == png(5).data
    assert (tmp_path / IMAGES_DIR / "good2-0.png").read_bytes() == png(5).data


@pytest.mark.asyncio
async def test_writes_queued_at_close_are_finished(tmp_path: Path) -> None:
    """Leaving the writer's block still writes what was queued; writing afterwards is refused."""
    with anyio.fail_after(10):  # a writer that dropped its queue would leave the tasks hanging
        async with anyio.create_task_group() as tg, open_image_writer(tmp_path) as writer:
            for i in range(10):
                tg.start_soon(writer.write, f"item{i}", [png(i)])
            await anyio.lowlevel.checkpoint()  # every task has queued its images
    assert len(list((tmp_path / IMAGES_DIR).glob("item*-0.png"))) == 10
    with pytest.raises(RuntimeError, match="closed"):
        await writer.write("late", [png(1)])


@pytest.mark.asyncio
async def test_slow_file_creation_moves_to_the_writer_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When creating files on the event loop is slow, the writer's thread takes it over."""
    loop_thread = threading.get_ident()
    on_loop: list[bool] = []
    real_write = files.write_file

    def slow_write(directory: str, name: str, data: bytes) -> None:
        on_loop.append(threading.get_ident() == loop_thread)
        time.sleep(0.001)  # what ext4 does within minutes of mass deletions, made steady
        real_write(directory, name, data)

    monkeypatch.setattr(files, "write_file", slow_write)
    async with open_image_writer(tmp_path) as writer:
        for i in range(200):  # one at a time: each is written before the next is asked for
            await writer.write(f"item{i:03d}", [png(i)])
    assert all(on_loop[:3])  # on the loop until measured slow
    assert on_loop.count(True) < 40  # the rest went to the thread, but for the re-measures
    assert len(list((tmp_path / IMAGES_DIR).glob("item*-0.png"))) == 200
