"""Realistic session logs for tests and benchmarks, made honestly: nobody publishes real ones.

Test data, not part of the package (it lives in ``tests/``, where its recordings are).

1. ``record``: runs real terminal sessions under util-linux ``script`` (coloured ``ls`` and
   ``grep``, the ``less`` pager, the ``vi`` editor, a long ``find``), keystroke by keystroke, and
   keeps each transcript with its timing file. The results are committed in
   ``tests/fixtures/sessions/recorded`` so that tests never need ``script`` at run time::

       python tests/session_corpus.py record tests/fixtures/sessions/recorded

2. ``build_corpus``: turns recordings into sessions in both of Session Manager's formats, by the
   agent's rules (Session Manager's logging documentation): the S3 object ``<sessionId>.log`` (raw
   transcript) and the streamed CloudWatch events (output lines in ``sessionData``, flushed every
   second, ≤ 33,000 raw bytes and ≤ 4 events per second).

3. ``load_s3`` / ``load_cloudwatch``: put a corpus into (moto's) S3 and CloudWatch Logs, with the
   ``AWS/Logs`` metrics seeded by ``put_metric_data`` because moto does not derive them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costcompare.measure.content import pack_lines, stream_event

RECORDED = Path(__file__).resolve().parent / "fixtures" / "sessions" / "recorded"
PROMPT = "[ssm-user@ip-10-0-1-23 ~]$ "
MAX_EVENTS_PER_SECOND = 4

# Each scene is what an admin types: text is typed a key at a time, "<wait N>" pauses.
SCENES: dict[str, list[str]] = {
    "colours": [
        "ls --color=always -la /usr/bin | head -60\n",
        "grep --color=always -n -E 'root|daemon|nobody' /etc/passwd /etc/group\n",
        "printf '\\033[1;32mOK\\033[0m \\033[1;31mFAILED\\033[0m \\033[33mWARN\\033[0m\\n'\n",
        "ls --color=always -C /etc | head -40\n",
    ],
    "pager": ["less /etc/services\n", "<wait 0.5>", " ", " ", "/tcp\n", "n", "n", "G", "q"],
    "editor": [
        "vi /tmp/costcompare-fixture.txt\n",
        "<wait 0.5>",
        "i",
        "server_name example.internal;\nlisten 443 ssl;\n",
        "\x1b",
        ":wq\n",
        "cat /tmp/costcompare-fixture.txt; rm -f /tmp/costcompare-fixture.txt\n",
    ],
    "find": ["find /usr/share -type f -name '*.txt' 2>/dev/null | head -1500\n", "<wait 1>"],
    "admin": [
        "sudo -n true 2>/dev/null || echo 'no sudo here'\n",
        "seq 1 400 | column -c 120\n",
        "cat /etc/os-release\n",
        "tail -n 30 /etc/services\n",
    ],
}


def record(out_dir: str | Path = RECORDED, scenes: Sequence[str] | None = None) -> list[Path]:
    """Record each scene with ``script``; writes ``<scene>.log`` and ``<scene>.timing``."""
    if shutil.which("script") is None:
        raise SystemExit("util-linux `script` is missing: apt-get install bsdutils")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in scenes or SCENES:
        log, timing = out / f"{name}.raw", out / f"{name}.timing"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": "/tmp",
            "TERM": "xterm-256color",
            "PS1": PROMPT,
            "LANG": "C.UTF-8",
            "LESS": "",
        }
        cmd = ["script", "-q", "--log-out", str(log), "--log-timing", str(timing)]
        cmd += ["-c", "bash --norc --noprofile -i"]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
        assert proc.stdin is not None
        _type(proc.stdin, "stty cols 120 rows 40\n")
        time.sleep(0.3)
        for step in SCENES[name]:
            if step.startswith("<wait"):
                time.sleep(float(step[5:-1]))
            else:
                _type(proc.stdin, step)
                time.sleep(0.4)
        _type(proc.stdin, "exit\n")
        proc.stdin.close()
        proc.wait(timeout=60)
        transcript = _strip_script_frame(log.read_bytes(), timing.read_text())
        target = out / f"{name}.log"
        target.write_bytes(transcript)
        log.unlink()
        written.append(target)
    return written


def _type(stdin: Any, text: str) -> None:
    for ch in text:
        stdin.write(ch.encode())
        stdin.flush()
        time.sleep(0.02)


def _strip_script_frame(log: bytes, timing: str) -> bytes:
    """The terminal output alone: ``script``'s own 'Script started/done' lines removed (the
    agent does not write them). The timing file counts exactly the output bytes."""
    total = sum(int(line.split()[1]) for line in timing.splitlines() if line.strip())
    start = log.index(b"\n") + 1 if log.startswith(b"Script started") else 0
    return log[start : start + total]


# -- recordings -> sessions --------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    name: str
    transcript: bytes
    timing: tuple[tuple[float, int], ...]  # (delay before, bytes) per output write

    def writes(self) -> Iterator[tuple[float, bytes]]:
        """(seconds since start, bytes) of each output write."""
        t, pos = 0.0, 0
        for delay, n in self.timing:
            t += delay
            yield t, self.transcript[pos : pos + n]
            pos += n


def recordings(folder: str | Path = RECORDED) -> list[Recording]:
    """The committed recordings (sorted by name)."""
    out = []
    for log in sorted(Path(folder).glob("*.log")):
        timing = log.with_suffix(".timing").read_text().split("\n")
        pairs = tuple((float(a), int(b)) for a, b in (x.split() for x in timing if x.strip()))
        out.append(Recording(log.stem, log.read_bytes(), pairs))
    if not out:
        raise FileNotFoundError(
            f"no recordings in {folder}: run `python tests/session_corpus.py record` first"
        )
    return out


@dataclass
class Session:
    """One generated session in both formats."""

    session_id: str
    target: str
    user_arn: str
    start: dt.datetime
    transcript: bytes
    events: list[tuple[int, str]] = field(default_factory=list)  # (epoch ms, message)

    @property
    def end(self) -> dt.datetime:
        last = self.events[-1][0] / 1000 if self.events else self.start.timestamp()
        return dt.datetime.fromtimestamp(last, dt.UTC)


def stream(
    rec: Sequence[tuple[float, bytes]], envelope: dict[str, Any], start: dt.datetime
) -> list[tuple[int, str]]:
    """The agent's streamed events for timed output: everything written in one second goes out
    at the end of that second as lines in ``sessionData`` (≤ 33,000 raw bytes per event, at most
    4 events a second; the rest waits for the next second)."""
    by_second: dict[int, bytearray] = {}
    for t, data in rec:
        by_second.setdefault(int(t), bytearray()).extend(data)
    events: list[tuple[int, str]] = []
    backlog: list[list[bytes]] = []
    second = 0
    last = max(by_second) if by_second else 0
    while second <= last or backlog:
        data = bytes(by_second.get(second, b""))
        if data:
            lines = data.split(b"\n")
            if lines[-1] == b"":
                lines.pop()
            backlog.extend(pack_lines(lines))
        stamp = start + dt.timedelta(seconds=second + 1)
        for group in backlog[:MAX_EVENTS_PER_SECOND]:
            body = dict(envelope, eventTime=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))
            text = stream_event([x.decode("utf-8", "replace") for x in group], body)
            events.append((int(stamp.timestamp() * 1000), text))
        backlog = backlog[MAX_EVENTS_PER_SECOND:]
        second += 1
    return events


def session_id(user: str, rng: random.Random) -> str:
    """``<user>-<17 hex digits>``, the shape of Session Manager session ids."""
    return f"{user}-{rng.getrandbits(68):017x}"


def build_corpus(
    count: int,
    *,
    seed: int = 0,
    start: dt.datetime = dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
    days: int = 10,
    instances: int = 4,
    region: str = "ap-northeast-1",
    max_scenes: int = 3,
    folder: str | Path = RECORDED,
) -> list[Session]:
    """``count`` sessions, each 1..max_scenes recordings played back to back, spread over
    ``days`` days and ``instances`` targets; deterministic for a seed."""
    rng = random.Random(seed)
    recs = recordings(folder)
    targets = [f"i-{rng.getrandbits(68):017x}" for _ in range(instances)]
    users = ["alice", "bob", "carol"]
    sessions = []
    for i in range(count):
        user = users[i % len(users)]
        sid = session_id(user, rng)
        target = targets[i % len(targets)]
        when = start + dt.timedelta(days=i % days, seconds=rng.randrange(8 * 3600, 18 * 3600))
        chosen = [rng.choice(recs) for _ in range(rng.randint(1, max_scenes))]
        writes: list[tuple[float, bytes]] = []
        offset = 0.0
        for rec in chosen:
            moves = list(rec.writes())
            writes += [(offset + t, data) for t, data in moves]
            offset += (moves[-1][0] if moves else 0) + 2.0
        envelope = {
            "eventVersion": "1.0",
            "eventTime": "",
            "awsRegion": region,
            "target": {"id": target},
            "userIdentity": {"arn": f"arn:aws:sts::123456789012:assumed-role/Admin/{user}"},
            "runAsUser": "ssm-user",
            "sessionId": sid,
        }
        transcript = b"".join(data for _, data in writes)
        session = Session(sid, target, envelope["userIdentity"]["arn"], when, transcript)
        session.events = stream(writes, envelope, when)
        sessions.append(session)
    return sessions


def write_s3_folder(sessions: Sequence[Session], folder: str | Path) -> list[Path]:
    """The S3 objects as ``aws s3 sync`` leaves them: ``<sessionId>.log``, mtime = session end."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in sessions:
        path = out / f"{s.session_id}.log"
        path.write_bytes(s.transcript)
        stamp = s.end.timestamp()
        os.utime(path, (stamp, stamp))
        paths.append(path)
    return paths


def write_cloudwatch_export(sessions: Sequence[Session], path: str | Path) -> Path:
    """JSON lines of event records, as ``aws logs filter-log-events`` returns them."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as fh:
        for s in sessions:
            for n, (stamp, message) in enumerate(s.events):
                record = {
                    "logStreamName": s.session_id,
                    "timestamp": stamp,
                    "message": message,
                    "ingestionTime": stamp + 700,
                    "eventId": f"{stamp}{n:06d}",
                }
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return target


def write_bulk(folder: str | Path, total_bytes: int, *, seed: int = 0) -> tuple[int, int]:
    """At least ``total_bytes`` of transcripts (recordings played back to back, 1..12 per file)
    for the benchmark; returns (files, bytes)."""
    rng = random.Random(seed)
    recs = [r.transcript for r in recordings()]
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = written = 0
    while written < total_bytes:
        sub = out / f"{files // 1000:04d}"
        sub.mkdir(exist_ok=True)
        data = b"".join(rng.choice(recs) for _ in range(rng.randint(1, 12)))
        (sub / f"{session_id('bench', rng)}.log").write_bytes(data)
        files += 1
        written += len(data)
    return files, written


# -- into (moto's) AWS ---------------------------------------------------------------------------


def load_s3(s3: Any, bucket: str, prefix: str, sessions: Sequence[Session]) -> None:
    """Upload each transcript as ``<prefix>/<sessionId>.log`` (bucket must exist)."""
    for s in sessions:
        key = f"{prefix.rstrip('/')}/{s.session_id}.log" if prefix else f"{s.session_id}.log"
        s3.put_object(Bucket=bucket, Key=key, Body=s.transcript, ContentType="text/plain")


def load_cloudwatch(
    logs: Any, cloudwatch: Any, group: str, sessions: Sequence[Session]
) -> tuple[int, int]:
    """One stream per session with its events, and the AWS/Logs metrics moto does not derive:
    IncomingBytes and IncomingLogEvents per session, at the session's time. Returns (bytes,
    events) as seeded."""
    logs.create_log_group(logGroupName=group)
    total_bytes = total_events = 0
    for s in sessions:
        logs.create_log_stream(logGroupName=group, logStreamName=s.session_id)
        for i in range(0, len(s.events), 500):
            batch = s.events[i : i + 500]
            logs.put_log_events(
                logGroupName=group,
                logStreamName=s.session_id,
                logEvents=[{"timestamp": t, "message": m} for t, m in batch],
            )
        size = sum(len(m.encode("utf-8")) for _, m in s.events)
        total_bytes += size
        total_events += len(s.events)
        dims = [{"Name": "LogGroupName", "Value": group}]
        cloudwatch.put_metric_data(
            Namespace="AWS/Logs",
            MetricData=[
                {"MetricName": name, "Dimensions": dims, "Timestamp": s.start, "Value": value}
                for name, value in (("IncomingBytes", size), ("IncomingLogEvents", len(s.events)))
            ],
        )
    return total_bytes, total_events


if __name__ == "__main__":  # pragma: no cover - a maintenance tool
    if len(sys.argv) >= 2 and sys.argv[1] == "record":
        for p in record(sys.argv[2] if len(sys.argv) > 2 else RECORDED):
            print(p, p.stat().st_size)
    else:
        raise SystemExit("usage: python tests/session_corpus.py record [DIR]")
