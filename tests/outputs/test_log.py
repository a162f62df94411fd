"""run.log: JSON lines, appended, flushed while the run is live, secrets scrubbed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runner.log import REDACTED, open_run_log
from runner.types import ErrorKind, ItemState

REPO = Path(__file__).resolve().parents[2]


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def wait_for_lines(path: Path, count: int, deadline_s: float = 10.0) -> list[dict[str, Any]]:
    """The file's lines once it holds ``count`` of them; fails if it never does."""
    give_up = time.monotonic() + deadline_s
    while time.monotonic() < give_up:
        if path.exists() and len(path.read_bytes().splitlines()) >= count:
            return read_lines(path)
        time.sleep(0.01)
    pytest.fail(f"{path} never held {count} lines")


def test_event_is_one_json_line_with_ts_event_then_fields(tmp_path: Path) -> None:
    """A line is {ts (ISO UTC, taken at the call), event, fields...} in that order."""
    path = tmp_path / "run.log"
    before = datetime.now(UTC)
    with open_run_log(path) as log:
        log.event(
            "request", item_id="ab12", attempt=2, http_status=200, latency_ms=12.5, error=None
        )
    after = datetime.now(UTC)
    [line] = read_lines(path)
    assert list(line) == ["ts", "event", "item_id", "attempt", "http_status", "latency_ms", "error"]
    assert line["event"] == "request"
    assert line["item_id"] == "ab12"
    assert line["attempt"] == 2
    assert line["latency_ms"] == 12.5
    assert line["error"] is None
    assert line["ts"].endswith("Z")
    ts = datetime.fromisoformat(line["ts"])
    assert ts.utcoffset() is not None
    assert ts.utcoffset() == UTC.utcoffset(None)
    assert before <= ts <= after


def test_values_that_are_not_json_are_written_readably(tmp_path: Path) -> None:
    """Enums as their values, paths and exceptions as text, tuples and nested maps as JSON."""
    path = tmp_path / "run.log"
    with open_run_log(path) as log:
        log.event(
            "state",
            state=ItemState.DONE,
            kind=ErrorKind.RATE_LIMITED,
            file=Path("images/x-0.png"),
            exc=TimeoutError("read timed out"),
            sizes=("256x256", "1024x1024"),
            error={"kind": ErrorKind.INVALID, "http_status": 400},
        )
    [line] = read_lines(path)
    assert line["state"] == "done"
    assert line["kind"] == "rate_limited"
    assert line["file"] == "images/x-0.png"
    assert line["exc"] == "read timed out"
    assert line["sizes"] == ["256x256", "1024x1024"]
    assert line["error"] == {"kind": "invalid", "http_status": 400}


def test_a_resumed_run_appends_to_the_log(tmp_path: Path) -> None:
    """Opening the log again adds lines after the earlier run's, never truncating them."""
    path = tmp_path / "out" / "run.log"
    with open_run_log(path) as log:
        log.event("run_started", run=1)
        log.event("run_finished", run=1)
    with open_run_log(path) as log:
        log.event("run_started", run=2)
    assert [(x["event"], x["run"]) for x in read_lines(path)] == [
        ("run_started", 1),
        ("run_finished", 1),
        ("run_started", 2),
    ]


def test_lines_reach_the_file_while_the_log_is_open(tmp_path: Path) -> None:
    """The writer flushes on its interval: a live run's log can be tailed without closing."""
    path = tmp_path / "run.log"
    with open_run_log(path, flush_interval_s=0.05) as log:
        log.event("request", item_id="a")
        assert wait_for_lines(path, 1)[0]["item_id"] == "a"
        log.event("request", item_id="b")
        assert [x["item_id"] for x in wait_for_lines(path, 2)] == ["a", "b"]


CHILD = """
import sys
from pathlib import Path
from runner.log import open_run_log
with open_run_log(Path(sys.argv[1])) as log:
    for i in range(50):
        log.event("request", seq=i)
    print("logged", flush=True)
    sys.stdin.readline()  # parked here until the parent kills it
"""


def test_kill_9_keeps_every_line_written_before_it(tmp_path: Path) -> None:
    """A process killed with SIGKILL, never closing its log, leaves whole lines on disk."""
    path = tmp_path / "run.log"
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "logged"
            wait_for_lines(path, 50)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes().endswith(b"\n")
    assert [x["seq"] for x in read_lines(path)] == list(range(50))


def test_events_from_many_threads_are_all_written_in_order(tmp_path: Path) -> None:
    """No line is lost or torn under load (past the early-wake mark), each thread's in order."""
    path = tmp_path / "run.log"
    threads, per_thread = 4, 6_000  # 24,000 lines: more than the 10,000-line early wake

    def emit(log_event: Any, thread: int) -> None:
        for seq in range(per_thread):
            log_event("request", thread=thread, seq=seq)

    with open_run_log(path) as log:
        workers = [threading.Thread(target=emit, args=(log.event, t)) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    lines = read_lines(path)
    assert len(lines) == threads * per_thread
    for thread in range(threads):
        assert [x["seq"] for x in lines if x["thread"] == thread] == list(range(per_thread))


SECRETS = [
    pytest.param({"key": "sk-proj-Abc123def456Ghi789"}, "sk-proj-Abc123def456Ghi789", id="sk-key"),
    pytest.param(
        {"error": {"message": "Incorrect API key provided: sk-live_0123456789abcdef."}},
        "sk-live_0123456789abcdef",
        id="key-quoted-in-nested-error",
    ),
    pytest.param(
        {"headers": ["Authorization: Bearer abcdefghijklmnop0123"]},
        "abcdefghijklmnop0123",
        id="bearer-in-list",
    ),
    pytest.param({"authorization": "Token xyzzy-plugh"}, "xyzzy-plugh", id="credential-name"),
    pytest.param({"OpenAI_Api_Key": "plain-value-1234"}, "plain-value-1234", id="api-key-name"),
    pytest.param(
        {"url": "https://cdn.example.com/a.png?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIAX"},
        "deadbeef",
        id="url-query",
    ),
    pytest.param(
        {"poll_url": "http://user:hunter2@127.0.0.1:9/v1/tasks/t1"}, "hunter2", id="url-userinfo"
    ),
    pytest.param(
        {"token_text": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"},
        "eyJzdWIiOiIxIn0",
        id="jwt",
    ),
    pytest.param(
        {"exc": PermissionError("401 for key sk-abcdefghijkl0123 at https://h/v1?api_key=zz9")},
        "sk-abcdefghijkl0123",
        id="exception-text",
    ),
]


@pytest.mark.parametrize(("fields", "secret"), SECRETS)
def test_secrets_never_reach_the_file(tmp_path: Path, fields: dict[str, Any], secret: str) -> None:
    """Keys, bearer tokens, credential fields and URL query strings are written as [REDACTED]."""
    path = tmp_path / "run.log"
    with open_run_log(path) as log:
        log.event("request", **fields)
    text = path.read_text(encoding="utf-8")
    assert secret not in text
    assert REDACTED in text


def test_redaction_keeps_what_is_not_a_secret(tmp_path: Path) -> None:
    """Ids, prompts, token counts and a URL's path stay readable around the redactions."""
    path = tmp_path / "run.log"
    url = "https://cdn.example.com/img/a.png?sig=abc#frag"
    with open_run_log(path) as log:
        log.event(
            "poll",
            task_id="task-0123456789abcdef",
            prompt="a bearer of gifts, asked: why?",
            usage={"input_tokens": 12, "output_tokens": 4160},
            api_key_env="OPENAI_API_KEY",
            url=url,
        )
    [line] = read_lines(path)
    assert line["task_id"] == "task-0123456789abcdef"
    assert line["prompt"] == "a bearer of gifts, asked: why?"
    assert line["usage"] == {"input_tokens": 12, "output_tokens": 4160}
    assert line["api_key_env"] == "OPENAI_API_KEY"
    assert line["url"] == "https://cdn.example.com/img/a.png?[REDACTED]#frag"


def test_event_after_close_raises(tmp_path: Path) -> None:
    """A line logged after the run log closed is an error, not a silent loss."""
    with open_run_log(tmp_path / "run.log") as log:
        log.event("run_started")
    with pytest.raises(ValueError, match="closed"):
        log.event("late")


def test_a_failed_write_is_reported_when_the_log_closes(tmp_path: Path) -> None:
    """A full disk (/dev/full) surfaces as OSError on leaving the with block, not silently."""
    with pytest.raises(OSError, match="No space left"), open_run_log(Path("/dev/full")) as log:
        log.event("request", item_id="a")
