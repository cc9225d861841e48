"""One search over every backend asked for. A backend that fails is reported with its one-line
error and the others still answer; only when every backend fails does the search fail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from costcompare.errors import CostCompareError
from costcompare.pricing import PriceBook, PriceTable, default_table
from costcompare.progress import NoProgress, Progress
from costcompare.search.awsutil import AwsOptions
from costcompare.search.cloudwatch import LogGroupTarget, search_cloudwatch
from costcompare.search.local import search_local
from costcompare.search.query import SearchError, SearchQuery
from costcompare.search.result import BackendResult, SearchResult
from costcompare.search.s3 import DEFAULT_MAX_OBJECTS, AthenaTarget, search_athena, search_s3_scan


@dataclass
class Sources:
    """Where to search: any mix of local folders, S3 prefixes, an Athena table, log groups."""

    paths: Sequence[str | Path] = ()
    s3: Sequence[str] = ()
    athena: AthenaTarget | None = None
    log_groups: Sequence[LogGroupTarget] = ()
    max_objects: int = DEFAULT_MAX_OBJECTS
    file_times: bool = False  # date local transcripts by their modification time

    @property
    def uses_aws(self) -> bool:
        return bool(self.s3 or self.athena or self.log_groups)

    def empty(self) -> bool:
        return not (self.paths or self.uses_aws)


@dataclass
class _Pricing:
    table: PriceTable
    date: dt.date | None
    region: str | None = None
    book: PriceBook | None = None
    problem: str | None = None


def run_search(
    query: SearchQuery,
    sources: Sources,
    aws: AwsOptions | None = None,
    *,
    table: PriceTable | None = None,
    pricing_date: dt.date | None = None,
    progress: Progress | None = None,
) -> SearchResult:
    if sources.empty():
        raise SearchError("nothing to search", "give --path, --s3, --athena-table or --log-group")
    aws = aws or AwsOptions()
    progress = progress or NoProgress()
    pricing = _Pricing(table or default_table(), pricing_date)
    if sources.uses_aws:
        _resolve_book(pricing, aws)
    results: list[BackendResult] = []
    errors: list[CostCompareError] = []
    for kind, label, job in _jobs(query, sources, aws, pricing.book, progress):
        progress.start(f"searching {label}", None)
        try:
            backend = job()
        except CostCompareError as exc:
            errors.append(exc)
            backend = BackendResult(kind, None, label, error=str(exc))
        if backend.ok and backend.destination and pricing.problem:
            backend.priced = False
            backend.notes.append(f"not priced: {pricing.problem}")
        results.append(backend)
    if len(errors) == len(results):
        raise errors[0]
    return SearchResult(query, results, region=pricing.region, pricing_date=_book_date(pricing))


def _jobs(query, sources: Sources, aws: AwsOptions, book, progress):
    """(backend kind, what it searches, the call) for every source, in a stable order."""
    for path in sources.paths:
        yield (
            "local",
            f"local folder {path}",
            lambda p=path: search_local(p, query, progress, file_times=sources.file_times),
        )
    for uri in sources.s3:
        yield (
            "s3-scan",
            uri,
            lambda u=uri: search_s3_scan(u, query, aws, book, max_objects=sources.max_objects),
        )
    if sources.athena:
        target = sources.athena
        yield (
            "athena",
            f"Athena table {target.table}",
            lambda: search_athena(target, query, aws, book),
        )
    for group in sources.log_groups:
        yield (
            "cloudwatch",
            f"log group {group.name}",
            lambda g=group: search_cloudwatch(g, query, aws, book),
        )


def _resolve_book(pricing: _Pricing, aws: AwsOptions) -> None:
    """The prices of the region searched; a search still runs when the table lacks them."""
    pricing.region = aws_region(aws)
    if pricing.region is None:
        return  # the first client call says no region is set
    try:
        pricing.book = pricing.table.resolve(pricing.region, pricing.date)
    except CostCompareError as exc:
        pricing.problem = str(exc)


def _book_date(pricing: _Pricing) -> dt.date | None:
    return pricing.book.pricing_date if pricing.book else pricing.date


def aws_region(aws: AwsOptions) -> str | None:
    """The region the clients will use (flag, AWS_REGION, AWS_DEFAULT_REGION or the profile)."""
    aws.session  # noqa: B018 - resolves the region
    return aws.region
