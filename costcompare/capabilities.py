"""What each destination can do for an auditor, independent of the workload: data, not scores.

Each destination in ``costcompare.destinations`` carries one of these next to its cost
components; ``costcompare.searchability`` turns them into scores for a given workload.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# Public sources of the capability facts (what each log class and S3 + Athena can do).
LOG_CLASSES_DOC = (
    "AWS CloudWatch Logs User Guide, log classes "
    "(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html)"
)
SESSION_LOGGING_DOC = (
    "AWS Systems Manager User Guide, logging session activity "
    "(https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-logging.html)"
)
ATHENA_PRICING = "Athena pricing (https://aws.amazon.com/athena/pricing/)"


@dataclass(frozen=True)
class Capabilities:
    """What a destination can do, independent of the workload."""

    full_text_search: str
    query_language: str
    expressiveness: int  # 0 grep only, 1 SQL/regex over raw lines, 2 Insights, 3 + filter patterns
    live_alerting: bool  # metric filters / subscriptions evaluate events as they arrive
    alerting_at_session_end: bool  # an event per finished session (S3 object-created)
    streams: bool  # can send output while the session runs (per-line timestamps)
    immutability: int  # 0 deletable, 1 deletion protection that can be switched off, 3 WORM
    reach: int  # 0 one account, 1 cross-account, 2 organization-wide
    masking: bool  # data protection policies for secrets
    live_tail: bool
    source: str


CLOUDWATCH_STANDARD = Capabilities(
    full_text_search="yes: search all log streams, FilterLogEvents, filter patterns",
    query_language="Logs Insights (also OpenSearch PPL, SQL)",
    expressiveness=3,
    live_alerting=True,
    alerting_at_session_end=True,
    streams=True,
    immutability=1,
    reach=2,
    masking=True,
    live_tail=True,
    source=f"{LOG_CLASSES_DOC}: Standard class; {SESSION_LOGGING_DOC}",
)
CLOUDWATCH_INFREQUENT_ACCESS = Capabilities(
    full_text_search="no",
    query_language="Insights without pattern, diff, filterIndex, unmask",
    expressiveness=2,
    live_alerting=False,
    alerting_at_session_end=False,
    streams=True,
    immutability=1,
    reach=1,
    masking=False,
    live_tail=False,
    source=f"{LOG_CLASSES_DOC}: what Infrequent Access lacks",
)
S3_WITH_ATHENA = Capabilities(
    full_text_search="no built-in; Athena SQL/regex over a table, or list + get + grep",
    query_language="Athena (Trino SQL)",
    expressiveness=1,
    live_alerting=False,
    alerting_at_session_end=True,
    streams=False,
    immutability=3,
    reach=2,
    masking=False,
    live_tail=False,
    source=f"{SESSION_LOGGING_DOC}; {ATHENA_PRICING}",
)
# Both: the best of CloudWatch Standard and S3 in every dimension.
CLOUDWATCH_AND_S3 = dataclasses.replace(
    CLOUDWATCH_STANDARD,
    alerting_at_session_end=True,
    immutability=max(CLOUDWATCH_STANDARD.immutability, S3_WITH_ATHENA.immutability),
    reach=max(CLOUDWATCH_STANDARD.reach, S3_WITH_ATHENA.reach),
    source=f"{CLOUDWATCH_STANDARD.source}; {S3_WITH_ATHENA.source}",
)
