"""The one AWS edge: every boto3 session and client, one retry policy, one error translator.

Provision, measure and the Price List refresh all get their clients from an ``AwsContext``, so
``--profile``/``AWS_PROFILE``, ``--region``/``AWS_REGION``/``AWS_DEFAULT_REGION`` and
``--endpoint-url`` mean the same thing in every command, every client retries the same way, and
every failure reads the same. boto3 is imported inside functions only: ``costcompare estimate``
never loads it.
"""

from __future__ import annotations

import html
import os
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from costcompare import __version__
from costcompare.awsfacts import NO_REGION, check_region
from costcompare.errors import AwsError, CostCompareError

# botocore's standard mode retries throttling and transient errors with exponential backoff,
# jitter and a retry quota; anything else surfaces at once. One policy for every client.
RETRY_MODE = "standard"
MAX_ATTEMPTS = 8  # the first call and its retries together
RETRY_CONFIG: Mapping[str, Any] = {"mode": RETRY_MODE, "total_max_attempts": MAX_ATTEMPTS}
USER_AGENT = f"costcompare/{__version__}"
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")
MESSAGE_LIMIT = 240  # characters of an AWS message kept in a one-line error

PROFILE_FIX = "check --profile / AWS_PROFILE against ~/.aws/config"
CREDENTIALS_FIX = "pass --profile, set AWS_PROFILE, or configure credentials (aws configure)"
EXPIRED_FIX = "refresh the credentials (aws sso login, aws configure) or pass another --profile"
ENDPOINT_FIX = "check --endpoint-url, --region and the network"

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
    }
)
ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
)
BAD_CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
    }
)


def resolve_profile(profile: str | None) -> str | None:
    """--profile, then AWS_PROFILE; None means boto3's default chain."""
    return profile or os.environ.get("AWS_PROFILE") or None


def resolve_region(region: str | None, profile: str | None = None) -> str | None:
    """--region, then AWS_REGION, then AWS_DEFAULT_REGION, then the profile's configured region.

    boto3 alone reads only AWS_DEFAULT_REGION; the AWS CLI and SDKs read AWS_REGION first, and
    so does every costcompare command.
    """
    return region or region_from_environment() or make_session(profile, None).region_name


def aws_region(region: str | None) -> str | None:
    """``region`` if AWS could have it (None stays None: resolved later), else a one-line error.

    Checked before any client exists: botocore would build ``s3.mars-1.amazonaws.com`` and fail
    only when the first call cannot reach it. A well-formed code newer than the tool's list
    (``awsfacts.AWS_REGIONS``) is let through, as boto3 would.
    """
    if region is None:
        return None
    return check_region(region, error=AwsError, known_only=False)


def _checked_default_region(session: Any) -> str | None:
    """AWS_REGION, AWS_DEFAULT_REGION or the profile's region, refused in one line naming where
    it came from when AWS has no such region."""
    variable = _region_variable()
    region = os.environ[variable] if variable else session.region_name
    try:
        return aws_region(region)
    except AwsError as exc:
        where = f"{variable}={region}" if variable else f"the profile's region {region!r}"
        raise AwsError(f"{where}: {exc.problem}", f"{exc.fix} (or pass --region)") from None


def region_from_environment() -> str | None:
    """AWS_REGION, then AWS_DEFAULT_REGION (None when neither is set)."""
    variable = _region_variable()
    return os.environ[variable] if variable else None


def _region_variable() -> str | None:
    """The first of AWS_REGION, AWS_DEFAULT_REGION that is set (and not empty)."""
    return next((v for v in REGION_VARIABLES if os.environ.get(v)), None)


def make_session(profile: str | None, region: str | None) -> Any:
    """A boto3 session; an unknown profile fails here, in one line, not at the first call.

    Every session shares one botocore data loader, so service models load once per process.
    """
    import boto3
    import botocore.exceptions
    import botocore.session

    core = botocore.session.Session()
    core.register_component("data_loader", _loader())
    try:
        if profile:
            core.set_config_variable("profile", profile)
        core.get_scoped_config()  # raises ProfileNotFound now (also for AWS_PROFILE)
        return boto3.session.Session(botocore_session=core, region_name=region)
    except botocore.exceptions.BotoCoreError as exc:
        raise aws_error(exc) from None


_LOADER: list[Any] = []


def _loader() -> Any:
    if not _LOADER:
        import botocore.loaders

        _LOADER.append(botocore.loaders.create_loader())
    return _LOADER[0]


def client_config(region: str | None) -> Any:
    """The botocore Config every client gets: the one retry policy and the tool's user agent."""
    from botocore.config import Config

    return Config(region_name=region, retries=dict(RETRY_CONFIG), user_agent_extra=USER_AGENT)


@dataclass
class AwsContext:
    """One account and region as the user named them: a lazily made session, cached clients.

    ``region`` None means AWS_REGION, AWS_DEFAULT_REGION, then the profile's region. Every API
    call is counted in ``calls`` (operation → calls); ``on_client`` sees each new client, so
    tests can hook every client (record writes, inject faults).
    """

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    on_client: Callable[[Any], None] | None = None
    calls: Counter[str] = field(default_factory=Counter)
    _clients: dict[tuple[str, str | None], Any] = field(default_factory=dict, repr=False)
    _session: Any = field(default=None, repr=False)
    _account_id: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.profile = resolve_profile(self.profile)
        self.region = aws_region(self.region)

    @property
    def session(self) -> Any:
        if self._session is None:
            session = make_session(self.profile, None)
            if self.region is None:
                self.region = _checked_default_region(session)
            self._session = session
        return self._session

    def client(self, service: str, region: str | None = None) -> Any:
        """A client for ``service`` (in ``region`` if given, else the context's region)."""
        session = self.session
        where = region or self.region
        if (service, region) not in self._clients:
            if not where:
                raise AwsError(*NO_REGION)
            try:
                client = session.client(
                    service, endpoint_url=self.endpoint_url or None, config=client_config(where)
                )
            except Exception as exc:  # bad endpoint URL or region: one line, never a traceback
                raise aws_error(exc, f"making an AWS {service} client") from None
            client.meta.events.register("before-call", self._count)
            if service == "s3control" and self.endpoint_url:
                client.meta.events.register("before-send.s3-control.*", _no_account_host)
            if self.on_client is not None:
                self.on_client(client)
            self._clients[(service, region)] = client
        return self._clients[(service, region)]

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def account_id(self) -> str:
        """The caller's account (STS): every ARN the tool writes needs it."""
        if self._account_id is None:
            with translated("identifying the AWS account (sts:GetCallerIdentity)"):
                self._account_id = self.client("sts").get_caller_identity()["Account"]
        return self._account_id


def assumed_context(
    base: AwsContext, role_arn: str, session_name: str = "costcompare"
) -> AwsContext:
    """A context in another account: ``base`` assumes ``role_arn`` (STS) once.

    The new context has the role's temporary credentials and ``base``'s region, endpoint, client
    hook and call counter, so every client still gets the one retry policy and every call is
    counted. Failures raise botocore's error (callers record them per account).
    """
    import boto3
    import botocore.session

    credentials = base.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)[
        "Credentials"
    ]
    core = botocore.session.Session()
    core.register_component("data_loader", _loader())
    core.set_credentials(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )
    return AwsContext(
        region=base.region,
        endpoint_url=base.endpoint_url,
        on_client=base.on_client,
        calls=base.calls,
        _session=boto3.session.Session(botocore_session=core, region_name=base.region),
    )


class translated:
    """``with translated("listing s3://b/p"):`` turns botocore errors into one ``AwsError``.

    ``error`` picks the domain error's class (e.g. MeasureError) so callers keep their own
    error type; ``fixes`` maps an AWS error code to the fix to print for it.
    """

    def __init__(
        self,
        doing: str = "",
        *,
        error: type[CostCompareError] = AwsError,
        fixes: Mapping[str, str] | None = None,
    ) -> None:
        self.doing, self.error, self.fixes = doing, error, fixes

    def __enter__(self) -> translated:
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, _tb: Any) -> None:
        if exc is not None and is_aws_exception(exc):
            raise aws_error(exc, self.doing, error=self.error, fixes=self.fixes) from None


def is_aws_exception(exc: BaseException) -> bool:
    """A botocore error (ClientError or BotoCoreError), tested without importing botocore."""
    return any(cls.__module__.startswith("botocore") for cls in type(exc).__mro__)


def aws_error(
    exc: BaseException,
    doing: str = "",
    *,
    error: type[CostCompareError] = AwsError,
    fixes: Mapping[str, str] | None = None,
) -> CostCompareError:
    """The one translation of a botocore error: one line saying what failed and how to fix it.

    A domain error passes through unchanged (it already is one line with its fix).
    """
    if isinstance(exc, CostCompareError):
        return exc
    problem, fix = _describe(exc, fixes or {})
    if isinstance(exc, _botocore().ProfileNotFound):
        return error(problem, fix)  # nothing was being done yet: the profile is the problem
    return error(f"{doing}: {problem}" if doing else problem, fix)


def _botocore() -> Any:
    import botocore.exceptions

    return botocore.exceptions


def _describe(exc: BaseException, fixes: Mapping[str, str]) -> tuple[str, str | None]:
    """(what went wrong, how to fix it) for one botocore error."""
    errors = _botocore()
    if isinstance(exc, errors.ClientError):
        code = error_code(exc)
        return error_text(exc), fixes.get(code) or _client_error_fix(code)
    if isinstance(exc, errors.ProfileNotFound):
        profile = exc.kwargs.get("profile") or os.environ.get("AWS_PROFILE")
        return f"AWS profile {profile!r} is not configured", PROFILE_FIX
    if isinstance(exc, errors.NoCredentialsError | errors.PartialCredentialsError):
        return "no AWS credentials found", CREDENTIALS_FIX
    if isinstance(exc, errors.UnauthorizedSSOTokenError | errors.SSOTokenLoadError):
        return "the AWS SSO session has expired", EXPIRED_FIX
    if isinstance(exc, errors.CredentialRetrievalError | errors.TokenRetrievalError):
        return f"cannot get AWS credentials: {one_line(str(exc))}", EXPIRED_FIX
    if isinstance(exc, errors.NoRegionError):
        return NO_REGION
    if isinstance(exc, errors.ConnectionError | errors.HTTPClientError):
        where = exc.kwargs.get("endpoint_url") or exc.kwargs.get("proxy_url") or "AWS"
        return f"cannot reach {where} ({type(exc).__name__})", ENDPOINT_FIX
    if isinstance(exc, ValueError) and "endpoint" in str(exc).lower():
        return one_line(str(exc)), "pass a full URL to --endpoint-url, e.g. http://127.0.0.1:5000"
    return one_line(str(exc)) or type(exc).__name__, None


def _client_error_fix(code: str) -> str:
    if code in THROTTLING_CODES:
        return f"AWS still throttled the call after {MAX_ATTEMPTS} attempts: wait and run again"
    if code in ACCESS_DENIED_CODES:
        return (
            "the caller lacks a permission this command needs: grant it, or pass --profile "
            "for one that has it"
        )
    if code in BAD_CREDENTIAL_CODES:
        return EXPIRED_FIX
    return "check the names, --region and permissions"


def _no_account_host(request: Any, **_: Any) -> None:
    """S3 Control puts the account id in front of the host; a custom endpoint (a local moto
    server) has no such host name, so it is taken off again."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(request.url)
    first, _, rest = parts.netloc.partition(".")
    if first.isdigit() and len(first) == 12 and rest:
        request.url = urlunsplit(parts._replace(netloc=rest))


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ('' for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_text(exc: BaseException) -> str:
    """One line: the AWS code and message, or the exception's own text."""
    response = getattr(exc, "response", None)
    if response and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', '?')}: {one_line(str(err.get('Message', '')))}".rstrip(": ")
    return one_line(str(exc)) or type(exc).__name__


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z!][^<>]*>")
_NOISE = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Squeeze a message to one line: an HTML error page (a proxy's, a load balancer's) becomes
    its title or its text; whitespace collapses; long text ends in an ellipsis."""
    if "<" in text and _TAG.search(text):
        title = _TITLE.search(text)
        text = title.group(1) if title else _TAG.sub(" ", _NOISE.sub(" ", text))
        text = html.unescape(text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
