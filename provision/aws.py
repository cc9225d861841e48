"""The one place boto3 sessions and clients are made: profile, region, endpoint, retries.

Everything else asks an ``AwsContext`` for a client, so tests can hook every client (count
write calls, inject faults) and ``--endpoint-url`` reaches every service at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provision.errors import AwsSetupError

# Throttling and transient errors are retried by botocore's standard mode (exponential backoff
# with jitter, a retry quota); anything else surfaces at once and stops apply at that step.
RETRY_CONFIG = {"mode": "standard", "max_attempts": 8}
USER_AGENT = "costcompare-provision"


def resolve_region(region: str | None, profile: str | None = None) -> str | None:
    """--region, then AWS_REGION, then AWS_DEFAULT_REGION, then the profile's configured region."""
    if region:
        return region
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(var):
            return os.environ[var]
    return _session(profile, None).region_name


def _session(profile: str | None, region: str | None):
    """A boto3 session sharing one botocore data loader: service models load once per process."""
    import boto3
    import botocore.exceptions
    import botocore.session

    core = botocore.session.Session()
    core.register_component("data_loader", _loader())
    try:
        if profile:
            core.set_config_variable("profile", profile)
            core.get_scoped_config()  # raises ProfileNotFound now, not at the first call
        return boto3.session.Session(botocore_session=core, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise AwsSetupError(
            f"AWS profile {profile!r} is not configured",
            "check --profile / AWS_PROFILE against ~/.aws/config",
        ) from None


_LOADER: list[Any] = []


def _loader() -> Any:
    if not _LOADER:
        import botocore.loaders

        _LOADER.append(botocore.loaders.create_loader())
    return _LOADER[0]


@dataclass
class AwsContext:
    """A boto3 session for one account and region, with cached, hooked clients."""

    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    on_client: Callable[[Any], None] | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _account_id: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.profile = self.profile or os.environ.get("AWS_PROFILE") or None
        self._session = _session(self.profile, self.region)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config

            config = Config(
                region_name=self.region, retries=dict(RETRY_CONFIG), user_agent_extra=USER_AGENT
            )
            client = self._session.client(
                service, endpoint_url=self.endpoint_url or None, config=config
            )
            if self.on_client is not None:
                self.on_client(client)
            self._clients[service] = client
        return self._clients[service]

    def account_id(self) -> str:
        """The caller's account (STS): the tool needs it in every ARN it writes."""
        if self._account_id is None:
            import botocore.exceptions

            try:
                self._account_id = self.client("sts").get_caller_identity()["Account"]
            except botocore.exceptions.NoCredentialsError:
                raise AwsSetupError(
                    "no AWS credentials found", "pass --profile or set AWS_PROFILE"
                ) from None
            except botocore.exceptions.ClientError as exc:
                raise AwsSetupError(
                    f"cannot identify the AWS account: {error_text(exc)}",
                    "check the credentials and --endpoint-url",
                ) from None
            except botocore.exceptions.EndpointConnectionError as exc:
                raise AwsSetupError(
                    f"cannot reach AWS: {exc}", "check --endpoint-url and the network"
                ) from None
        return self._account_id


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ('' for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_text(exc: BaseException) -> str:
    """One line: the AWS code and message, or the exception's own text."""
    response = getattr(exc, "response", None)
    if response and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', '?')}: {err.get('Message', '')}".strip()
    return " ".join(str(exc).split()) or type(exc).__name__
