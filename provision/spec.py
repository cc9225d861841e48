"""The desired state: frozen dataclasses built from CLI options and/or a YAML file.

Every input AWS would reject but moto silently accepts (moto validates almost nothing of
these) is rejected here, before any AWS call, so a bad option can
never leave a half-built setup behind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from costcompare import awsfacts
from costcompare.awsfacts import LifecycleRule, parse_bool, partition
from costcompare.yamlio import clip
from provision.central import CentralSpec, MemberBucket, central_spec, member_bucket, member_prefix
from provision.errors import SpecError

DESTINATIONS = ("cloudwatch", "s3", "both")
LOG_CLASSES = ("STANDARD", "INFREQUENT_ACCESS")
BUCKET_ENCRYPTIONS = ("sse-kms", "sse-s3")
MANAGED_TAG = ("costcompare:managed", "true")
DOCUMENT_NAME = "SSM-SessionManagerRunShell"
DEFAULT_LOG_GROUP = "/ssm/session-manager"
DEFAULT_KEY_PREFIX = "session-logs"
# SSM documents are at most 64 KB; a shell profile alone must leave room for the rest.
MAX_SHELL_PROFILE_BYTES = 64 * 1024
SECURITY_GROUP_NAME = "costcompare-ssm-endpoints"
KEY_ALIASES = {
    "cloudwatch": "alias/costcompare/session-logs-cloudwatch",
    "s3": "alias/costcompare/session-logs-s3",
    "session": "alias/costcompare/session-data",
}


def policy_name_for(region: str) -> str:
    """The tool's customer managed IAM policy; one per region, as the resources are."""
    return f"costcompare-session-logging-{region}"


@dataclass(frozen=True)
class KeySpec:
    """A KMS key for one purpose: created and managed under ``alias``, or an existing key."""

    purpose: str  # "cloudwatch" | "s3"
    alias: str
    existing_arn: str | None = None

    @property
    def managed(self) -> bool:
        return self.existing_arn is None


@dataclass(frozen=True)
class LogGroupSpec:
    name: str
    retention_days: int | None
    log_class: str
    streaming: bool
    key: KeySpec | None


# One S3 transition: the same type the workload profile's s3_lifecycle uses.
Transition = LifecycleRule


@dataclass(frozen=True)
class BucketSpec:
    name: str
    key_prefix: str
    sse_algorithm: str  # "aws:kms" | "AES256"
    key: KeySpec | None
    transitions: tuple[Transition, ...] = ()
    expiration_days: int | None = None
    object_lock_days: int | None = None
    member: MemberBucket | None = None  # another account's (central) bucket: used, not created

    @property
    def lifecycle(self) -> bool:
        return bool(self.transitions) or self.expiration_days is not None


@dataclass(frozen=True)
class AthenaSpec:
    """The Glue table of transcript lines and the Athena workgroup `costcompare search` uses."""

    database: str
    table: str
    workgroup: str
    cutoff_bytes: int  # BytesScannedCutoffPerQuery: a query scanning more is cancelled
    results: str  # s3:// location of query results


@dataclass(frozen=True)
class SessionSpec:
    """Session preferences; None means "keep whatever the document already says"."""

    idle_timeout: int | None = None
    max_duration: int | None = None
    run_as_enabled: bool | None = None
    run_as_user: str | None = None
    shell_linux: str | None = None
    shell_windows: str | None = None


@dataclass(frozen=True)
class NetworkSpec:
    vpc_id: str
    subnet_ids: tuple[str, ...]


@dataclass(frozen=True)
class ProvisionSpec:
    """Everything plan/apply/destroy need to know about the wanted setup."""

    region: str
    destination: str
    log_group: LogGroupSpec | None = None
    bucket: BucketSpec | None = None
    session: SessionSpec = field(default_factory=SessionSpec)
    role_name: str | None = None
    network: NetworkSpec | None = None
    session_key: KeySpec | None = None  # kmsKeyId: session data encrypted (CKV_AWS_112)
    create_role: bool = False  # create role_name and its instance profile when missing
    athena: AthenaSpec | None = None  # --athena: search the transcripts with Athena
    central: CentralSpec | None = None  # --central-bucket: the organization's log archive

    @property
    def partition(self) -> str:
        return partition(self.region)

    @property
    def keys(self) -> tuple[KeySpec, ...]:
        """Every KMS key the setup uses for its stores, managed or existing."""
        found = []
        if self.log_group and self.log_group.key:
            found.append(self.log_group.key)
        if self.bucket and self.bucket.key:
            found.append(self.bucket.key)
        if self.session_key:
            found.append(self.session_key)
        return tuple(found)

    @property
    def uses_kms(self) -> bool:
        return bool(self.keys)

    @property
    def policy_name(self) -> str:
        return policy_name_for(self.region)

    def interface_services(self) -> tuple[str, ...]:
        """The interface endpoints the instances need (reference: "Private subnets")."""
        names = awsfacts.interface_endpoints(cloudwatch=bool(self.log_group), kms=self.uses_kms)
        return tuple(f"com.amazonaws.{self.region}.{name}" for name in names)

    def gateway_services(self) -> tuple[str, ...]:
        return (f"com.amazonaws.{self.region}.s3",) if self.bucket else ()


def default_bucket_name(account: str, region: str) -> str:
    """What the console and the common Terraform modules use: unique per account and region."""
    return f"ssm-session-logs-{account}-{region}"


def build_spec(
    options: Mapping[str, Any], region: str, account: str | None = None
) -> ProvisionSpec:
    """Validate every option and build the desired state. Raises SpecError naming the fix.

    ``account`` (when known) gives the S3 destination its default bucket name.
    """
    region = check_region(region)
    central = central_spec(options)
    if central is not None:
        options = {**options, "destination": "s3", "session_kms_key_id": "none"}
    destination = _choice(options.get("destination"), DESTINATIONS, "destination", required=True)
    if options.get("preset"):  # a compliance preset fills retention, lifecycle, Object Lock
        from costcompare.presets import provision_options

        options = provision_options(options, error=SpecError)
    wants_cw = destination in ("cloudwatch", "both")
    wants_s3 = destination in ("s3", "both")

    log_group = None
    if wants_cw:
        name = str(options.get("log_group") or DEFAULT_LOG_GROUP)
        awsfacts.check_log_group_name(name, error=SpecError)
        retention = _retention(options)
        awsfacts.check_retention_days(retention, error=SpecError)
        log_class = _choice(
            str(options.get("log_class") or "STANDARD").upper(), LOG_CLASSES, "log_class"
        )
        key = _key_option(options.get("kms_key", "create"), "cloudwatch", "kms_key", region)
        log_group = LogGroupSpec(
            name=name,
            retention_days=retention,
            log_class=log_class,
            streaming=_bool(options.get("streaming", True), "streaming"),
            key=key,
        )

    bucket = None
    if wants_s3:
        if not options.get("bucket") and account and not options.get("bucket_account"):
            options = {**options, "bucket": default_bucket_name(account, region)}
        bucket = _bucket_spec(options, region, account)
    elif options.get("bucket"):
        raise SpecError(
            f"--bucket is set but --destination is {destination}",
            "use --destination s3 or both, or drop --bucket",
        )

    role, create_role = _role(options)
    return ProvisionSpec(
        region=region,
        destination=destination,
        log_group=log_group,
        bucket=bucket,
        session=_session_spec(options),
        role_name=role,
        network=network_spec(options),
        session_key=_key_option(
            options.get("session_kms_key_id", "create"), "session", "session_kms_key_id", region
        ),
        create_role=create_role,
        athena=_athena_spec(options, bucket),
        central=central,
    )


ATHENA_MIN_CUTOFF_MB = 10  # Athena's smallest BytesScannedCutoffPerQuery
_GLUE_NAME = re.compile(r"^[a-z0-9_]{1,255}$")
_WORKGROUP_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def _athena_spec(options: Mapping[str, Any], bucket: BucketSpec | None) -> AthenaSpec | None:
    """--athena: a Glue database/table over the transcript prefix and a workgroup whose
    bytes-scanned cutoff stops a runaway query (results under the bucket's athena-results/)."""
    if not _bool(options.get("athena", False), "athena"):
        return None
    if bucket is None:
        raise SpecError("--athena searches the S3 transcripts", "use --destination s3 or both")
    database = str(options.get("athena_database") or "ssm_session_logs")
    if not _GLUE_NAME.match(database):
        raise SpecError(
            f"--athena-database {database!r}", "use lowercase letters, digits and _ only"
        )
    workgroup = str(options.get("athena_workgroup") or "costcompare")
    if not _WORKGROUP_NAME.match(workgroup):
        raise SpecError(f"--athena-workgroup {workgroup!r}", "use letters, digits, . _ - only")
    cutoff = options.get("athena_cutoff_mb", 1024)
    cutoff_mb = _int(cutoff, "athena_cutoff_mb", ATHENA_MIN_CUTOFF_MB, 1 << 30)
    return AthenaSpec(
        database=database,
        table="session_lines",
        workgroup=workgroup,
        cutoff_bytes=cutoff_mb * 1024 * 1024,
        results=f"s3://{bucket.name}/athena-results/",
    )


def _role(options: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(role name, whether to create it): --role names an existing role, --create-role a new one."""
    role, create = options.get("role"), options.get("create_role")
    if role is not None and create is not None and str(role) != str(create):
        raise SpecError("--role and --create-role name different roles", "give one of them")
    name = create if create is not None else role
    if name is not None and not awsfacts.IAM_ROLE_NAME.match(str(name)):
        raise SpecError(f"role name {clip(name)} is invalid", "use up to 64 of A-Z a-z 0-9 +=,.@_-")
    return (str(name) if name is not None else None), create is not None


def _retention(options: Mapping[str, Any]) -> int | None:
    """Days to keep logs; None only when the user chose --retain-forever, by that name.

    0 or "never" used to mean "forever" and silently removed retention from a live log group;
    CloudWatch itself rejects 0, so both are refused with the explicit alternative.
    """
    forever = _bool(options.get("retain_forever") or False, "retain_forever")
    given = options.get("retention_days")
    if forever:
        if given is not None:
            raise SpecError("--retain-forever and --retention-days both given", "drop one of them")
        return None
    if given is None:
        return 365
    if str(given).strip().lower() in ("0", "never", "none", "forever"):
        raise SpecError(
            f"retention_days {clip(given)} is not a retention CloudWatch Logs accepts",
            "give a number of days (e.g. 365), or --retain-forever to keep logs forever",
        )
    return _int(given, "retention_days")


def check_region(region: str | None) -> str:
    """The region, or a SpecError in the words every command uses (costcompare.awsfacts)."""
    return awsfacts.check_region(region, error=SpecError)


def check_kms_arn(value: str, region: str, what: str) -> str:
    """A key ARN in ``region`` (costcompare.awsfacts), or a SpecError."""
    return awsfacts.check_kms_arn(value, region, what, error=SpecError)


def _key_option(value: Any, purpose: str, name: str, region: str) -> KeySpec | None:
    text = "create" if value is None else str(value).strip()
    if text.lower() == "none":
        return None
    if text.lower() == "create":
        return KeySpec(purpose=purpose, alias=KEY_ALIASES[purpose])
    arn = check_kms_arn(text, region, f"--{name.replace('_', '-')}")
    if ":alias/" in arn:
        raise SpecError(
            f"--{name.replace('_', '-')} is an alias ARN",
            "log groups and bucket encryption need the key ARN (arn:...:key/<id>)",
        )
    return KeySpec(purpose=purpose, alias=KEY_ALIASES[purpose], existing_arn=arn)


def check_bucket_name(name: str) -> str:
    """S3's naming rules, no dots (costcompare.awsfacts), or a SpecError."""
    return awsfacts.check_bucket_name(name, error=SpecError)


def _bucket_spec(options: Mapping[str, Any], region: str, account: str | None) -> BucketSpec:
    name = options.get("bucket")
    if not name:
        raise SpecError(
            "S3 destination needs a bucket name",
            "pass --bucket NAME (the default needs the account id)",
        )
    name = check_bucket_name(str(name))
    member = member_bucket(options, region)
    if member is not None:  # the central bucket a member uses: its prefix ends with the account
        prefix = _key_prefix(member_prefix(options, account, DEFAULT_KEY_PREFIX))
        algorithm = "aws:kms" if member.key_arn else "AES256"
        return BucketSpec(name, prefix, algorithm, key=None, member=member)
    prefix = _key_prefix(options.get("key_prefix", DEFAULT_KEY_PREFIX))
    encryption = _choice(
        options.get("bucket_encryption") or "sse-kms", BUCKET_ENCRYPTIONS, "bucket_encryption"
    )
    key = None
    if encryption == "sse-kms":
        key = _key_option(options.get("bucket_kms_key", "create"), "s3", "bucket_kms_key", region)
        if key is None:
            raise SpecError(
                "--bucket-kms-key none contradicts sse-kms", "use --bucket-encryption sse-s3"
            )
    elif options.get("bucket_kms_key") not in (None, "create"):
        raise SpecError("--bucket-kms-key needs --bucket-encryption sse-kms", "drop one of them")
    transitions = tuple(_transition(item) for item in _as_list(options.get("transition")))
    awsfacts.check_lifecycle(transitions, error=SpecError)
    expiration = options.get("expiration_days")
    expiration = None if expiration is None else _int(expiration, "expiration_days", 1, 36500)
    if expiration is not None and transitions and expiration <= transitions[-1].after_days:
        raise SpecError(
            f"expiration after {expiration} days is not after the last transition "
            f"({transitions[-1].after_days} days)",
            "expire later than the last transition",
        )
    lock = options.get("object_lock_days")
    lock = None if lock is None else _int(lock, "object_lock_days", 1, 36500)
    return BucketSpec(
        name=name,
        key_prefix=prefix,
        sse_algorithm="aws:kms" if encryption == "sse-kms" else "AES256",
        key=key,
        transitions=transitions,
        expiration_days=expiration,
        object_lock_days=lock,
    )


def _key_prefix(value: Any) -> str:
    prefix = str(value or "")
    if prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        raise SpecError(
            f"key prefix {prefix!r} has a leading, trailing or double slash",
            "Session Manager adds the '/' itself: write e.g. session-logs",
        )
    if not awsfacts.S3_KEY_PREFIX.match(prefix):
        raise SpecError(
            f"key prefix {prefix!r} has unsafe characters", "use A-Z a-z 0-9 ! _ . * ' ( ) / -"
        )
    return prefix


def _transition(item: Any) -> Transition:
    """``DAYS:CLASS`` on the command line, or a {days, storage_class} mapping in YAML."""
    if isinstance(item, Mapping):
        days, cls = item.get("days", item.get("after_days")), item.get("storage_class")
    else:
        days, _, cls = str(item).partition(":")
    cls = awsfacts.check_storage_class(cls, error=SpecError, what=f"transition {item!r}")
    return Transition(_int(days, "transition days", 0, 36500), cls)


def _session_spec(options: Mapping[str, Any]) -> SessionSpec:
    idle = options.get("idle_timeout")
    idle = None if idle is None else _int(idle, "idle_timeout", 1, 60)
    max_duration = options.get("max_duration")
    max_duration = None if max_duration is None else _int(max_duration, "max_duration", 1, 1440)
    run_as = options.get("run_as")
    run_as = None if run_as is None else _bool(run_as, "run_as")
    user = options.get("run_as_user")
    if user is not None:
        user = str(user)
        if not awsfacts.LINUX_USER_NAME.match(user):
            raise SpecError(f"run-as user {user!r} is not a valid Linux user name", "e.g. ssm-user")
        if run_as is False:
            raise SpecError("--run-as-user given with --no-run-as", "drop one of them")
        run_as = True
    return SessionSpec(
        idle_timeout=idle,
        max_duration=max_duration,
        run_as_enabled=run_as,
        run_as_user=user,
        shell_linux=_shell_profile(options.get("shell_profile_linux"), "linux"),
        shell_windows=_shell_profile(options.get("shell_profile_windows"), "windows"),
    )


def _shell_profile(value: Any, system: str) -> str | None:
    """SSM refuses documents over 64 KB: a bigger profile would fail only at apply time."""
    if value is None:
        return None
    text = str(value)
    size = len(text.encode("utf-8"))
    if size > MAX_SHELL_PROFILE_BYTES:
        raise SpecError(
            f"--shell-profile-{system} is {size:,} bytes; SSM documents hold at most 64 KB",
            "keep the profile short: source a script installed on the instances instead",
        )
    return text


def network_spec(options: Mapping[str, Any]) -> NetworkSpec | None:
    vpc = options.get("vpc_id")
    subnets = _as_list(options.get("subnet"))
    subnets = tuple(
        dict.fromkeys(s.strip() for item in subnets for s in str(item).split(",") if s.strip())
    )
    if not vpc and not subnets:
        return None
    if not vpc or not subnets:
        raise SpecError("VPC endpoints need both --vpc-id and --subnet", "give both, or neither")
    if not awsfacts.VPC_ID.match(str(vpc)):
        raise SpecError(f"{vpc!r} is not a VPC id", "write vpc- followed by 8 or 17 hex digits")
    for subnet in subnets:
        if not awsfacts.SUBNET_ID.match(subnet):
            raise SpecError(
                f"{subnet!r} is not a subnet id", "write subnet- and 8 or 17 hex digits"
            )
    return NetworkSpec(vpc_id=str(vpc), subnet_ids=subnets)


def _choice(value: Any, allowed: tuple[str, ...], name: str, required: bool = False) -> str:
    if value is None and required:
        raise SpecError(
            f"--{name.replace('_', '-')} is required", f"use one of {', '.join(allowed)}"
        )
    text = str(value)
    if text not in allowed:
        raise SpecError(
            f"--{name.replace('_', '-')} {text!r} is not allowed",
            f"use one of {', '.join(allowed)}",
        )
    return text


def _int(value: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool):
        raise SpecError(f"{name} must be a whole number, not {value!r}", "write e.g. 30")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise SpecError(f"{name} must be a whole number, not {value!r}", "write e.g. 30") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise SpecError(f"{name} {number} is out of range", f"use {low}-{high}")
    return number


def _bool(value: Any, name: str) -> bool:
    flag = parse_bool(value)
    if flag is None:
        raise SpecError(f"{name} must be true or false, not {value!r}", "write true or false")
    return flag


def _as_list(value: Any) -> list[Any]:
    """A repeatable option: one value (a YAML scalar) or a list of them."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
