"""Search the S3 transcripts: a direct scan of the objects (small prefixes), or Athena.

Direct scan: ListObjectsV2 over the prefix (1,000 keys a call), then one GetObject per session
that passes the filters, each searched as it streams in. The key gives the session id
(``<prefix>/<sessionId>.log``) and LastModified the session end. Priced as the LIST and GET
requests (and retrieval from infrequent-access classes) it made.

Athena: one query over a table of one row per transcript line (``athena_table_ddl``), the session
id taken from the object key (``"$path"``). Session Manager keys carry no date, so every query
scans the whole prefix; the time filter only narrows the rows by the object's modification time.
Priced from ``DataScannedInBytes``, rounded up to the MB with the 10 MB minimum per query.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from costcompare.athena import run_athena_query
from costcompare.aws import ACCESS_DENIED_CODES
from costcompare.measure.content import CHUNK
from costcompare.measure.s3 import parse_s3_uri
from costcompare.pricing import PriceBook
from costcompare.search.awsutil import PERMISSIONS, AwsOptions, translate
from costcompare.search.local import Counted, Scanner
from costcompare.search.query import SearchError, SearchQuery, clean_line, user_of
from costcompare.search.result import BackendResult, SessionMatch, price_lines
from costcompare.volumes import ATHENA_MIN_BYTES_PER_QUERY, LIST_KEYS_PER_REQUEST, MIB, TIB
from costcompare.workload import GIB

DEFAULT_MAX_OBJECTS = 10_000  # above this, a direct scan is slower and dearer than Athena
ATHENA_ROW_LIMIT = 10_000
LINE_COLUMN = "line"
# The search's own flag names in the shared Athena runner's one-line errors.
ATHENA_SEARCH_FIXES = {
    "InvalidRequestException": "check --athena-table, --athena-workgroup and --athena-output",
    **{code: f"the caller needs {PERMISSIONS['athena']}" for code in ACCESS_DENIED_CODES},
}
_SESSION_FROM_PATH = r"""regexp_extract("$path", '([^/]+)\.log$', 1)"""


def athena_table_ddl(database: str, table: str, bucket: str, prefix: str) -> str:
    """The table Athena searches: one row per line of every object under the prefix."""
    location = f"s3://{bucket}/{prefix.rstrip('/') + '/' if prefix else ''}"
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table}` (`{LINE_COLUMN}` string)\n"
        "ROW FORMAT DELIMITED LINES TERMINATED BY '\\n'\n"
        "STORED AS TEXTFILE\n"
        f"LOCATION '{location}'"
    )


# -- direct scan --------------------------------------------------------------------------------


def search_s3_scan(
    uri: str,
    query: SearchQuery,
    aws: AwsOptions,
    book: PriceBook | None,
    *,
    max_objects: int = DEFAULT_MAX_OBJECTS,
    progress=None,
) -> BackendResult:
    where = parse_s3_uri(uri)
    result = BackendResult("s3-scan", "s3", str(where), bytes_basis="downloaded by this tool")
    started = time.perf_counter()
    s3 = aws.client("s3")
    try:
        objects, lists = _list(s3, where.bucket, where.prefix, query, max_objects)
        sessions: dict[str, SessionMatch] = {}
        scanner = Scanner(query)
        read = 0
        gets: dict[str, int] = {}
        retrieved: dict[str, float] = {}
        for key, modified, storage_class in objects:
            body = s3.get_object(Bucket=where.bucket, Key=key)["Body"]
            gets[storage_class] = gets.get(storage_class, 0) + 1
            chunks = Counted(body.iter_chunks(CHUNK))
            try:
                scanner.transcript(chunks, key, modified, sessions)
            finally:
                body.close()
            read += chunks.total
            retrieved[storage_class] = retrieved.get(storage_class, 0.0) + chunks.total / GIB
    except Exception as exc:
        raise translate(exc, "s3-scan", f"searching {where}") from None
    result.sessions = [s for s in sessions.values() if s.matches]
    result.seconds = time.perf_counter() - started
    result.bytes_scanned = read
    if book is not None:
        quantities = [("S3 LIST requests", "s3.requests.put.STANDARD", float(lists))]
        quantities += [
            (f"S3 GET requests ({cls})", f"s3.requests.get.{cls}", float(n))
            for cls, n in sorted(gets.items())
        ]
        quantities += [
            (f"S3 retrieval ({cls})", f"s3.retrieval.{cls}", gb)
            for cls, gb in sorted(retrieved.items())
            if f"s3.retrieval.{cls}" in book.prices
        ]
        result.cost = price_lines(book, quantities)
    result.notes.append(f"{lists} LIST and {sum(gets.values())} GET requests")
    if query.instance:
        result.notes.append("transcripts do not record their instance: --instance matches none")
    return result


def _list(s3, bucket: str, prefix: str, query: SearchQuery, max_objects: int):
    """(key, LastModified epoch, storage class) of the session objects that pass the filters,
    and the LIST calls made. Too many objects: an error before any object is read."""
    wanted: list[tuple[str, float, str]] = []
    lists = total = 0
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_KEYS_PER_REQUEST}
    )
    for page in pages:
        lists += 1
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if not key.endswith(".log"):
                continue
            total += 1
            if total > max_objects:
                raise SearchError(
                    f"s3://{bucket}/{prefix} holds more than {max_objects:,} transcripts: too "
                    "many to download one by one",
                    "search it with Athena (--athena-table, --athena-workgroup) or raise "
                    "--max-objects",
                )
            sid = key.rsplit("/", 1)[-1][: -len(".log")]
            modified = obj["LastModified"].timestamp()
            if query.wants_session(sid) and query.in_window(modified) and not query.instance:
                wanted.append((key, modified, obj.get("StorageClass", "STANDARD")))
    return wanted, lists


# -- Athena -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AthenaTarget:
    table: str  # database.table
    workgroup: str
    output: str | None = None  # s3:// results location, when the workgroup sets none
    timeout_s: float = 300.0


def athena_sql(query: SearchQuery, table: str) -> str:
    """The query text: matching lines with the session id from the key and the object time."""
    database, _, name = table.partition(".")
    regex = ("(?i)" if query.ignore_case else "") + query.regex
    where = [f"regexp_like({LINE_COLUMN}, {_literal(regex)})"]
    if query.since is not None:
        where.append(f'"$file_modified_time" >= from_unixtime({query.since:.0f})')
    if query.until is not None:
        where.append(f'"$file_modified_time" < from_unixtime({query.until:.0f})')
    if query.session:
        where.append(f"{_SESSION_FROM_PATH} = {_literal(query.session)}")
    if query.user:
        where.append(f"{_SESSION_FROM_PATH} LIKE {_literal(query.user + '-%')}")
    return (
        f"SELECT {_SESSION_FROM_PATH} AS session_id,\n"
        '       to_unixtime("$file_modified_time") AS modified,\n'
        f"       {LINE_COLUMN}\n"
        f'FROM "{database}"."{name}"\n'
        "WHERE " + "\n  AND ".join(where) + "\n"
        f"LIMIT {ATHENA_ROW_LIMIT}"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def search_athena(
    target: AthenaTarget, query: SearchQuery, aws: AwsOptions, book: PriceBook | None
) -> BackendResult:
    if "." not in target.table:
        raise SearchError(
            f"--athena-table {target.table!r} has no database", "write it as database.table"
        )
    sql = athena_sql(query, target.table)
    result = BackendResult(
        "athena", "s3", f"Athena table {target.table} (workgroup {target.workgroup})",
        bytes_basis="reported by Athena (DataScannedInBytes)", query_text=sql,
    )  # fmt: skip
    if query.instance:
        result.notes.append("transcripts do not record their instance: --instance matches none")
        return result
    started = time.perf_counter()
    ran = run_athena_query(
        aws,
        sql,
        workgroup=target.workgroup,
        table=target.table,
        purpose="the Athena query",
        error=SearchError,
        output=target.output,
        timeout_s=target.timeout_s,
        fixes=ATHENA_SEARCH_FIXES,
        failed_fix="check --athena-table, --athena-workgroup and its bytes-scanned cutoff",
    )
    sessions = _rows(ran.rows)
    result.seconds = time.perf_counter() - started
    result.sessions = list(sessions.values())
    scanned = ran.bytes_scanned
    result.bytes_scanned = scanned
    billed = max(-(-scanned // MIB) * MIB, ATHENA_MIN_BYTES_PER_QUERY)
    if book is not None:
        result.cost = price_lines(
            book, [("Athena data scanned (≥ 10 MB, whole MB)", "athena.scanned", billed / TIB)]
        )
    result.notes.append(
        "plus the S3 GET/LIST requests Athena makes on every object (not reported by Athena)"
    )
    if sum(s.matches for s in sessions.values()) >= ATHENA_ROW_LIMIT:
        result.notes.append(f"stopped at {ATHENA_ROW_LIMIT:,} lines: narrow the search")
    return result


def _rows(rows: list[list[str | None]]) -> dict[str, SessionMatch]:
    """Athena's rows (session id, modified time, line; header already removed) by session."""
    sessions: dict[str, SessionMatch] = {}
    for values in rows:
        sid, modified, line = [*values, None, None, None][:3]
        if not sid:
            continue
        match = sessions.setdefault(sid, SessionMatch(sid, user_of(sid), source=sid + ".log"))
        match.add(clean_line(line or ""), float(modified) if modified else None)
    return sessions
