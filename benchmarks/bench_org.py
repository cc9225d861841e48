"""`measure --org` at organization scale: 1,000 accounts × 2 regions on stubbed clients.

    python benchmarks/bench_org.py [--accounts 1000] [--regions 2] [--groups 3] [--sessions 20]
                                   [--latency-ms 5] [--workers 8]

Every AWS call is a stub that sleeps ``--latency-ms`` (a real call's round trip), so the floor
is calls × latency ÷ workers: the time the calls alone take on the pool. Each account answers
like a member whose preferences name one bucket for both regions (GetDocument per region, one
GetBucketLocation and listing per bucket). Prints the API calls per account (which must not
vary with volume or account), wall time against that floor, and peak memory (VmHWM), which
must stay under 300 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections import Counter
from types import SimpleNamespace

from benchutil import peak_rss_mb

from costcompare import orgmeasure
from costcompare.aws import AwsContext

_EPOCH = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


class _Stub:
    """A client whose every call sleeps, counts, and answers like the service: log groups with
    metrics, preferences naming the account's bucket, and that bucket's session objects."""

    def __init__(self, calls: Counter, latency: float, sizes: argparse.Namespace, account: str):
        self.calls, self.latency, self.sizes, self.account = calls, latency, sizes, account
        self.meta = SimpleNamespace(events=SimpleNamespace(register=lambda *a, **k: None))

    def _call(self, name: str) -> None:
        self.calls[name] += 1
        self.calls[f"account:{self.account}"] += 1
        time.sleep(self.latency)

    def get_paginator(self, name: str):
        stub = self

        class _Pages:
            def paginate(self, **kwargs):
                if name == "describe_log_groups":
                    stub._call("DescribeLogGroups")
                    groups = range(stub.sizes.groups)
                    yield {"logGroups": [{"logGroupName": f"/ssm/g{i}"} for i in groups]}
                    return
                stub._call("ListObjectsV2")
                prefix = kwargs["Prefix"]
                yield {"Contents": [
                    {"Key": f"{prefix}s-{i}.log", "Size": 4096 + i,
                     "LastModified": _EPOCH + dt.timedelta(hours=i)}
                    for i in range(stub.sizes.sessions)
                ]}  # fmt: skip

        return _Pages()

    def get_metric_data(self, MetricDataQueries, **_):
        self._call("GetMetricData")
        values = [float(int(self.account) % 997 + 1)] * 30
        return {"MetricDataResults": [{"Id": q["Id"], "Values": values} for q in MetricDataQueries]}

    def get_document(self, **_):
        self._call("GetDocument")
        inputs = {"s3BucketName": f"ssm-logs-{self.account}", "s3KeyPrefix": "sessions"}
        return {"Content": json.dumps({"inputs": inputs})}

    def get_bucket_location(self, **_):
        self._call("GetBucketLocation")
        return {"LocationConstraint": "ap-northeast-1"}


class _Session:
    """What AwsContext asks for clients: every client of an account is its one stub."""

    def __init__(self, stub: _Stub) -> None:
        self.stub = stub

    def client(self, _service: str, **_):
        return self.stub


def _context(calls: Counter, latency: float, sizes: argparse.Namespace, account: str):
    stub = _Stub(calls, latency, sizes, account)
    return AwsContext(region="us-east-1", calls=calls, _session=_Session(stub))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--regions", type=int, default=2)
    parser.add_argument("--groups", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=20, help="S3 objects per account")
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    calls: Counter = Counter()

    def assume(base, arn, _name):
        account = arn.split(":")[4]
        calls["AssumeRole"] += 1
        calls[f"account:{account}"] += 1
        time.sleep(latency)
        return _context(calls, latency, args, account)

    orgmeasure.assumed_context = assume
    base = _context(calls, latency, args, "000000000000")
    ids = [f"{100000000000 + i}" for i in range(args.accounts)]
    regions = ["ap-northeast-1", "us-east-1", "eu-west-1", "us-west-2"][: args.regions]
    start, cpu = time.perf_counter(), time.process_time()
    result = orgmeasure.measure_org(base, regions, accounts=ids, workers=args.workers, days=30)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    per_account = {calls[f"account:{a}"] for a in ids}
    total = sum(v for k, v in calls.items() if not k.startswith("account:"))
    floor = total * latency / args.workers
    print(
        f"accounts × regions: {args.accounts} × {args.regions}, {args.groups} log groups each, "
        f"{args.sessions} S3 sessions per account (preferences name one bucket)"
    )
    print(f"API calls: {total:,} ({dict((k, v) for k, v in calls.items() if ':' not in k)})")
    print(f"API calls per account: {sorted(per_account)} (constant: {len(per_account) == 1})")
    print(
        f"wall {wall:.2f} s, floor (calls × {args.latency_ms:g} ms ÷ {args.workers} workers) "
        f"{floor:.2f} s, ratio {wall / floor:.2f}; CPU {cpu:.2f} s"
    )
    print(f"peak memory {peak_rss_mb():.0f} MB (goal < 300 MB)")
    sessions = sum(r.s3_sessions for a in result.accounts for r in a.regions)
    print(
        f"measured {len(result.accounts)} accounts, {sessions:,} S3 sessions, "
        f"{len(result.failures)} failures"
    )


if __name__ == "__main__":
    main()
