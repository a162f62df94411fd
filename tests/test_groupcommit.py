"""Group commit: callers queued while a flush runs share the next one."""

from __future__ import annotations

import anyio
import pytest

from runner.groupcommit import GroupCommit


@pytest.mark.asyncio
async def test_callers_queued_during_a_flush_share_the_next_one() -> None:
    """Ten callers arriving while the first flush runs are flushed together, in one batch."""
    batches: list[list[int]] = []
    release = anyio.Event()

    async def flush(batch: list[int]) -> None:
        batches.append(batch)
        if len(batches) == 1:
            await release.wait()

    commits = GroupCommit(flush)
    async with anyio.create_task_group() as tg:
        tg.start_soon(commits.run)
        async with anyio.create_task_group() as callers:
            callers.start_soon(commits.submit, 0)
            await anyio.wait_all_tasks_blocked()
            for i in range(1, 11):
                callers.start_soon(commits.submit, i)
            await anyio.wait_all_tasks_blocked()
            release.set()
        commits.close()
    assert batches == [[0], list(range(1, 11))]


@pytest.mark.asyncio
async def test_a_failing_flush_releases_its_callers_and_stops_the_writer() -> None:
    """A flush that raises still lets its batch's callers go; the error ends run()."""

    async def flush(batch: list[int]) -> None:
        raise OSError("disk gone")

    commits = GroupCommit(flush)

    async def writer() -> None:
        with pytest.raises(OSError, match="disk gone"):
            await commits.run()

    with anyio.fail_after(5):  # a caller left waiting would hang here
        async with anyio.create_task_group() as tg:
            tg.start_soon(writer)
            await commits.submit(1)
