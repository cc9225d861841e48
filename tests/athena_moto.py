"""moto's Athena runs no SQL: tests queue the rows the next query returns, as Athena would."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from costcompare.aws import AwsContext

BILL_HEADER = ("service", "usage_type", "usage_amount", "unblended_cost", "line_items")


def queue_athena_rows(region: str, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    """moto answers the next Athena query in ``region`` with a header row, then ``rows`` as
    text (no VarCharValue for NULL, as Athena sends it)."""
    from moto.athena.models import QueryResults, athena_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    def cell(value):
        return {} if value is None else {"VarCharValue": str(value)}

    data = [[{"VarCharValue": h} for h in header], *([cell(v) for v in row] for row in rows)]
    results = QueryResults(
        rows=[{"Data": row} for row in data],
        column_info=[{"Name": name, "Type": "varchar"} for name in header],
    )
    athena_backends[DEFAULT_ACCOUNT_ID][region].query_results_queue.append(results)


class StubbedContext(AwsContext):
    """An AwsContext whose every client is the given one (a botocore-Stubber'd Athena client),
    for the failures moto cannot produce."""

    def __init__(self, client, region: str = "ap-northeast-1") -> None:
        super().__init__(region=region)
        self._client = client

    def client(self, service: str, region: str | None = None):
        return self._client
