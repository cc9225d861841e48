"""The one place measurement makes boto3 clients, counts their calls and words their errors.

boto3 is imported here, inside functions, so that ``costcompare estimate`` starts fast.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from costcompare.errors import MeasureError


@dataclass
class AwsOptions:
    """``--profile``, ``--region`` and ``--endpoint-url``, as the other AWS commands take them."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    calls: Counter[str] = field(default_factory=Counter)  # API operation -> calls made

    def client(self, service: str) -> Any:
        """A client with standard retries whose every API call is counted in ``calls``."""
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ProfileNotFound

        try:
            session = boto3.Session(profile_name=self.profile, region_name=self.region)
        except ProfileNotFound:
            raise MeasureError(
                f"AWS profile {self.profile!r} is not configured", "check --profile"
            ) from None
        if not session.region_name:
            raise MeasureError("no AWS region is set", "pass --region, e.g. ap-northeast-1")
        config = Config(retries={"mode": "standard", "max_attempts": 5})
        try:
            client = session.client(service, endpoint_url=self.endpoint_url, config=config)
        except (BotoCoreError, ValueError) as exc:
            raise MeasureError(f"cannot make an AWS {service} client: {exc}") from None

        def count(model: Any, **_: Any) -> None:
            self.calls[model.name] += 1

        client.meta.events.register("before-call", count)
        return client


def aws_error(exc: Exception, what: str) -> MeasureError:
    """A one-line MeasureError for a failed AWS call: what failed and the likely fix."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return MeasureError(f"{what}: no AWS credentials", "configure them or pass --profile")
    if isinstance(exc, EndpointConnectionError):
        return MeasureError(f"{what}: cannot reach {exc.kwargs.get('endpoint_url')}",
                            "check --endpoint-url, --region and the network")  # fmt: skip
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Error")
        message = exc.response.get("Error", {}).get("Message", "")
        fix = {
            "NoSuchBucket": "check the bucket name",
            "NoSuchKey": "check the key",
            "ResourceNotFoundException": "check the log group name and --region",
            "AccessDenied": "the caller needs read access (s3:ListBucket, s3:GetObject, "
            "logs:Describe*, logs:GetLogEvents, cloudwatch:GetMetricData)",
            "AccessDeniedException": "the caller needs logs:Describe*, logs:GetLogEvents and "
            "cloudwatch:GetMetricData",
        }.get(code, "check the name, --region and permissions")
        return MeasureError(f"{what}: {code} {message}".rstrip(), fix)
    return MeasureError(f"{what}: {exc}")
