"""Drives each work item through its life: submit, poll, download, write, done.

Every side effect is preceded by the commit that makes it recoverable:
intent (``submitting``) before the POST leaves; ``task_id`` before it is polled; image URLs before
they are fetched; image files (fsynced, renamed) before the item is ``done``. A crash at any point
therefore leaves the DB saying exactly what may have happened, and ``recover_submitting`` settles
the one window that cannot be closed: a POST sent whose answer was never recorded.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import anyio

from runner import crashpoints
from runner.client import ProviderClient, decode_b64_image
from runner.client.errors import (
    AmbiguousError,
    DownloadError,
    FatalError,
    InvalidRequestError,
    ProviderError,
    RateLimitedError,
    RetryableError,
    TaskNotFoundError,
)
from runner.log import RunLog
from runner.scheduler.files import ImageWriter
from runner.scheduler.limits import Slots
from runner.scheduler.live import Live, RunControl
from runner.scheduler.throttle import Throttle
from runner.store import Store
from runner.types import (
    DecodedImage,
    ErrorInfo,
    ErrorKind,
    ImageRef,
    ItemState,
    RetryConfig,
    StoredImage,
    Submission,
    TaskState,
    TaskStatus,
)

# Polls keep poll.interval_s for the first few (most tasks finish within them, and a growing
# interval would see a 3 s task only at 3.8 s), then back off towards poll.max_interval_s.
STEADY_POLLS = 4
POLL_GROWTH = 1.5
DOWNLOAD_TRIES = 5
IMAGE_THREADS = max(2, os.cpu_count() or 2)
# Decoding and checking a small inline image (~20 us) costs less than a thread hop: it runs on the
# event loop. A large one (a 1536x1024 PNG is ~4 MB of base64: milliseconds) goes to a thread.
INLINE_DECODE_CHARS = 256 * 1024
# Download failures that no second try can fix.
HOPELESS_DOWNLOADS = frozenset({"unsupported_url", "too_large", "not_an_image"})
# An image URL answering these has expired (OpenAI's last 60 minutes, BFL's 10) or never existed.
GONE_STATUSES = frozenset({403, 404, 410})


def backoff(retry: RetryConfig, attempt: int, floor: float | None = None) -> float:
    """Exponential backoff with full jitter; a server's Retry-After is a floor, never shortened."""
    ceiling = min(retry.max_backoff_s, retry.backoff_s * 2 ** max(0, attempt - 1))
    return max(random.uniform(0, ceiling), floor or 0.0)


@dataclass(slots=True)
class Counters:
    """Requests sent this run, whatever their answer; flushed to the DB as they accumulate."""

    generations: int = 0
    polls: int = 0
    downloads: int = 0
    retries: int = 0
    rate_limited: int = 0
    possible_duplicate_charges: int = 0
    possible_duplicate_cost_usd: float = 0.0
    flushed: dict[str, float] = field(default_factory=dict)

    def unflushed(self) -> dict[str, float]:
        now = {k: float(getattr(self, k)) for k in _COUNTER_NAMES}
        delta = {k: v - self.flushed.get(k, 0.0) for k, v in now.items()}
        self.flushed = now
        return {k: v for k, v in delta.items() if v}


_COUNTER_NAMES = (
    "generations",
    "polls",
    "downloads",
    "retries",
    "rate_limited",
    "possible_duplicate_charges",
    "possible_duplicate_cost_usd",
)


class Engine:
    """One run's item lifecycle over a store and a client, within the run's limits."""

    def __init__(
        self,
        store: Store,
        client: ProviderClient,
        control: RunControl,
        images: ImageWriter,
        log: RunLog | None = None,
    ) -> None:
        self.store = store
        self.log = log
        self.client = client
        self.ctl = control
        s = control.settings
        self.throttle = Throttle(control)
        # Intents recorded and not yet sent; fewer starve the send slots (B1: a quarter of the
        # concurrency ahead gave back all the gain of taking the commit out of the slot, a half
        # gave back half of it).
        self.ahead = Slots(s.concurrency)
        self.recording = Slots(s.concurrency)
        # Image work (decode, write) is CPU and GIL bound: more threads than cores only make the
        # event loop wait for the GIL (B2 saw 1 s requests answered in up to 3 s with 40).
        self.image_threads = anyio.CapacityLimiter(IMAGE_THREADS)
        self._images = images
        self.poll_slots = Slots(s.poll.concurrency)
        self.download_slots = Slots(s.download.concurrency)
        self.task_slots = Slots(s.max_pending_tasks)
        self.counters = Counters()

    def _logged(
        self,
        kind: str,
        item_id: str,
        attempt: int,
        started: float,
        exc: ProviderError | None = None,
    ) -> None:
        """One run.log line per request: what, for which item, how it went, how long it took."""
        if self.log is None:
            return
        info = exc.info if exc is not None else None
        self.log.event(
            "request",
            kind=kind,
            item_id=item_id,
            attempt=attempt,
            http_status=info.http_status if info else 200,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
            error=info.kind if info else None,
            code=info.code if info else None,
        )

    # -- one item, start to end --------------------------------------------------------------

    async def drive(self, live: Live) -> None:
        """Moves one item on until it is done, failed, held, or the run stops."""
        while not self.ctl.hard_stop:
            if live.state is ItemState.PENDING:
                if not await self._submit(live):
                    return
            elif live.state is ItemState.POLLING:
                if not await self._poll(live):
                    return
            elif live.state is ItemState.DOWNLOADING:
                await self._download(live)
            else:
                return

    # -- submit ------------------------------------------------------------------------------

    async def _submit(self, live: Live) -> bool:
        """Sends one generation attempt; False when the item must wait for a later run."""
        if self.ctl.stopping:
            return False
        if live.not_before and (wait := live.not_before - time.time()) > 0:
            await self.ctl.sleep(wait)
            if self.ctl.stopping:
                return False
        if not await self._intend(live):
            return False
        ahead = True
        try:
            async with self.throttle.slot(live.item.images_expected) as cleared:
                self.ahead.release()
                ahead = False
                if not cleared:
                    await self._withdraw(live)
                    return False
                answer = await self._send(live)
                if answer is None:
                    return True
                # Hand over from the send slot to a recording slot: `concurrency` counts POSTs in
                # flight (Little's law: holding it through decode/write/commit cost B2 a quarter
                # of its rate), while answers not yet recorded stay bounded by the same number.
                await self.recording.acquire()
        except BaseException:
            if ahead:  # cancelled while waiting for a send slot: nothing was sent
                self.ahead.release()
                with anyio.CancelScope(shield=True):
                    await self._withdraw(live)
            raise
        try:
            crashpoints.reach("after_answer")
            await self._accept(live, answer)
        finally:
            self.recording.release()
        return True

    async def _intend(self, live: Live) -> bool:
        """Admits the item against the budget and commits its intent to send (``submitting``).

        This happens before a send slot is taken, so that the commit's latency (its fsync: a few
        ms) overlaps other items' requests instead of holding a slot; `concurrency` then counts
        only requests in flight (B1: 10-15% more items/s). ``ahead`` bounds the items waiting so,
        intent recorded and not yet sent: a kill leaves at most that many more ambiguous.
        """
        await self.ahead.acquire()
        try:
            admitted = not self.ctl.stopping and await self.ctl.admit(live)
            if admitted:
                await self.store.mark_submitting(live.item.item_id, live.reserved)
        except BaseException:
            self.ahead.release()
            raise
        if not admitted:
            self.ahead.release()
            return False
        live.state, live.attempts = ItemState.SUBMITTING, live.attempts + 1
        crashpoints.reach("after_intent")
        return True

    async def _withdraw(self, live: Live) -> None:
        """An intent never sent (the run stopped first): pending again, its attempt refunded."""
        item_id = live.item.item_id
        await self.store.mark_pending(item_id, ItemState.SUBMITTING, None, refund_attempt=True)
        live.state, live.attempts = ItemState.PENDING, live.attempts - 1
        self.ctl.release(live)

    async def _send(self, live: Live) -> Submission | None:
        """The POST itself; a failure is dealt with here and gives None."""
        self.counters.generations += 1
        started = time.monotonic()
        try:
            answer = await self.client.submit(live.item.request_body())
        except ProviderError as exc:
            self._logged("generation", live.item.item_id, live.attempts, started, exc)
            self.throttle.answered(exc)
            await self._submit_failed(live, exc)
            return None
        self._logged("generation", live.item.item_id, live.attempts, started)
        self.throttle.answered(None)
        return answer

    async def _accept(self, live: Live, answer: Submission) -> None:
        if answer.is_async:
            assert answer.task_id is not None
            await self.store.mark_polling(live.item.item_id, answer.task_id, answer.poll_url)
            live.state, live.task_id, live.poll_url = (
                ItemState.POLLING,
                answer.task_id,
                answer.poll_url,
            )
            live.task_started_at = time.time()
            crashpoints.reach("after_task_id")
        else:
            await self._take_images(live, answer.images, answer.usage)

    async def _take_images(
        self, live: Live, refs: Sequence[ImageRef], usage: Any, from_state: ItemState | None = None
    ) -> None:
        """Inline images are written now; URLs are recorded, then downloaded."""
        from_state = from_state or live.state
        live.usage = usage
        if not refs:
            err = AmbiguousError("the answer held no images")
            await self._submit_failed(live, err)
        elif all(r.b64_json for r in refs):
            try:
                decoded = [await self._decode(r.b64_json or "") for r in refs]
            except AmbiguousError as exc:
                await self._submit_failed(live, exc)
                return
            stored = await self._images.write(live.item.item_id, decoded)
            await self._finish(live, from_state, refs, stored)
        else:
            await self.store.mark_downloading(live.item.item_id, from_state, refs, usage)
            live.state, live.refs = ItemState.DOWNLOADING, tuple(refs)

    async def _finish(
        self,
        live: Live,
        from_state: ItemState,
        refs: Sequence[ImageRef],
        stored: Sequence[StoredImage],
    ) -> None:
        """Records the written images done, once the store's barrier has made them durable."""
        images = [
            replace(s, revised_prompt=r.revised_prompt) if r.revised_prompt else s
            for s, r in zip(stored, refs, strict=True)
        ]
        crashpoints.reach("after_file_write")
        cost = self.ctl.pricer.actual(live.item, live.usage, len(images))
        await self.store.mark_done(live.item.item_id, from_state, images, live.usage, cost)
        live.state = ItemState.DONE
        self.ctl.on_done(live, cost, len(images))

    async def _decode(self, b64: str) -> DecodedImage:
        if len(b64) <= INLINE_DECODE_CHARS:
            return decode_b64_image(b64)
        return await anyio.to_thread.run_sync(decode_b64_image, b64, limiter=self.image_threads)

    async def _submit_failed(self, live: Live, exc: ProviderError) -> None:
        """Decides, from the error's class, whether the item waits, retries, fails or stops all."""
        item_id, info = live.item.item_id, exc.info
        if isinstance(exc, FatalError):
            self.ctl.fatal(info)
            await self.store.mark_pending(item_id, live.state, info, refund_attempt=True)
            live.state, live.attempts = ItemState.PENDING, live.attempts - 1
            self.ctl.release(live)
            return
        if isinstance(exc, InvalidRequestError):
            await self._fail(live, info)
            return
        # Not an attempt: the provider refused to take it (429), it never left, or it failed
        # during an outage (the breaker's probes must not use up the probing item's attempts).
        refund = isinstance(exc, RateLimitedError) or (
            isinstance(exc, RetryableError) and (not exc.sent or self.throttle.outage)
        )
        if isinstance(exc, RateLimitedError):
            self.counters.rate_limited += 1
        if isinstance(exc, AmbiguousError):
            self.counters.possible_duplicate_charges += 1
            self.counters.possible_duplicate_cost_usd += live.reserved
            self.ctl.spent += live.reserved  # it may have been charged: the budget counts it
            if self.ctl.hold_ambiguous and not exc.answered:
                await self.store.mark_ambiguous(item_id, live.state, info)
                live.state = ItemState.AMBIGUOUS
                self.ctl.on_failed(live)
                return
        attempts = live.attempts - int(refund)
        if attempts >= self.ctl.settings.retry.max_attempts:
            await self._fail(live, info)
            return
        self.counters.retries += 1
        delay = backoff(self.ctl.settings.retry, attempts + 1, exc.retry_after)
        live.not_before = time.time() + delay
        await self.store.mark_pending(item_id, live.state, info, live.not_before, refund)
        live.state, live.attempts, live.task_id = ItemState.PENDING, attempts, None
        self.ctl.release(live)

    async def _fail(self, live: Live, info: ErrorInfo) -> None:
        await self.store.mark_failed(live.item.item_id, live.state, info)
        live.state = ItemState.FAILED
        self.ctl.on_failed(live)

    # -- poll --------------------------------------------------------------------------------

    async def _poll(self, live: Live) -> bool:
        """Polls one async task until it ends; False when the run stops first."""
        assert live.task_id is not None
        poll = self.ctl.settings.poll
        interval, polls = poll.interval_s, 0
        async with self.task_slots.slot():
            while not self.ctl.stopping:
                if self._poll_timed_out(live):
                    await self._fail(live, ErrorInfo(ErrorKind.TASK_TIMEOUT, "task never finished"))
                    return True
                await self.ctl.sleep(interval)
                polls += 1
                if polls >= STEADY_POLLS:
                    interval = min(interval * POLL_GROWTH, poll.max_interval_s)
                if self.ctl.stopping:
                    break
                status = await self._poll_once(live)
                crashpoints.reach("mid_poll")
                if status is None or status.state is TaskState.PENDING:
                    continue
                if status.state is TaskState.COMPLETED:
                    await self._take_images(live, status.images, status.usage or live.usage)
                else:
                    await self._task_failed(live, status.error)
                return True
        return False

    def _poll_timed_out(self, live: Live) -> bool:
        started = live.task_started_at or time.time()
        return time.time() - started > self.ctl.settings.poll.timeout_s

    async def _poll_once(self, live: Live) -> TaskStatus | None:
        """One poll; transient poll errors only delay the next one (polls cost nothing)."""
        assert live.task_id is not None
        async with self.poll_slots.slot():
            self.counters.polls += 1
            started = time.monotonic()
            try:
                status = await self.client.poll(live.task_id, live.poll_url)
            except ProviderError as exc:
                self._logged("poll", live.item.item_id, live.attempts, started, exc)
                return self._poll_failed(exc)
            self._logged("poll", live.item.item_id, live.attempts, started)
            return status

    def _poll_failed(self, exc: ProviderError) -> TaskStatus | None:
        if isinstance(exc, TaskNotFoundError):
            return TaskStatus(TaskState.FAILED, error=exc.info)
        if isinstance(exc, FatalError):
            self.ctl.fatal(exc.info)
        return None

    async def _task_failed(self, live: Live, error: ErrorInfo | None) -> None:
        """A failed task spent one attempt; it is submitted again while attempts remain."""
        info = error or ErrorInfo(ErrorKind.TASK_FAILED, "task failed")
        if live.attempts >= self.ctl.settings.retry.max_attempts:
            await self._fail(live, info)
            return
        self.counters.retries += 1
        await self.store.mark_pending(live.item.item_id, live.state, info)
        live.state, live.task_id, live.poll_url, live.not_before = (
            ItemState.PENDING,
            None,
            None,
            None,
        )
        self.ctl.release(live)

    # -- download ----------------------------------------------------------------------------

    async def _download(self, live: Live) -> None:
        """Fetches every image URL of a finished answer; a failed fetch never regenerates."""
        decoded: list[DecodedImage] = []
        for ref in live.refs:
            image = await self._fetch(live.item.item_id, ref)
            if isinstance(image, ErrorInfo):
                await self._fail(live, image)
                return
            decoded.append(image)
        stored = await self._images.write(live.item.item_id, decoded)
        await self._finish(live, ItemState.DOWNLOADING, live.refs, stored)

    async def _fetch(self, item_id: str, ref: ImageRef) -> DecodedImage | ErrorInfo:
        if ref.b64_json:
            try:
                return await self._decode(ref.b64_json)
            except ProviderError as exc:
                return exc.info
        last = ErrorInfo(ErrorKind.DOWNLOAD, "image answer had neither url nor b64_json")
        for attempt in range(1, DOWNLOAD_TRIES + 1) if ref.url else ():
            async with self.download_slots.slot():
                self.counters.downloads += 1
                started = time.monotonic()
                try:
                    image = await self.client.download(ref.url or "")
                    self._logged("download", item_id, attempt, started)
                    return image
                except DownloadError as exc:
                    self._logged("download", item_id, attempt, started, exc)
                    last = exc.info
                    if last.http_status in GONE_STATUSES:
                        return _expired(last)
                    if last.code in HOPELESS_DOWNLOADS:
                        return last
            await self.ctl.sleep(backoff(self.ctl.settings.retry, attempt))
        return last


def _expired(info: ErrorInfo) -> ErrorInfo:
    """Regenerating would be a new charge, so it is the user's call: say how to make it."""
    message = (
        f"image URL expired or gone (HTTP {info.http_status}) before it was downloaded; "
        "`runner retry --item ID` generates it again, at a new charge"
    )
    return replace(info, message=message, code=info.code or "url_expired")
