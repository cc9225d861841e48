"""Options from a YAML file (--config) and the command line: names, types, merging.

The same option names work on the command line (with dashes) and in YAML (with underscores);
a file that is unreadable, not UTF-8, not YAML, or gives a key the wrong type is one line
naming the fix, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from costcompare.yamlio import clip, load_yaml_mapping, reject_unknown_keys
from provision.errors import SpecError

OPTION_NAMES = (
    "destination",
    "log_group",
    "retention_days",
    "log_class",
    "kms_key",
    "streaming",
    "bucket",
    "key_prefix",
    "bucket_encryption",
    "bucket_kms_key",
    "transition",
    "expiration_days",
    "object_lock_days",
    "idle_timeout",
    "max_duration",
    "run_as",
    "run_as_user",
    "shell_profile_linux",
    "shell_profile_windows",
    "session_kms_key_id",
    "role",
    "vpc_id",
    "subnet",
    "retain_forever",
    "create_role",
    "athena",
    "athena_database",
    "athena_workgroup",
    "athena_cutoff_mb",
    "preset",
    "central_bucket",
    "org_id",
    "bucket_account",
    "bucket_region",
)
# Connection settings a --config file may also carry; the command line wins over them.
CONNECTION_NAMES = ("region", "profile", "endpoint_url")
# Options that take a list (repeatable flags); every other option takes one scalar.
LIST_OPTIONS = ("transition", "subnet")


def load_options(path: str | Path | None) -> dict[str, Any]:
    """Read a YAML options file; unknown keys or wrong value types are one-line errors."""
    if path is None:
        return {}
    data = load_yaml_mapping(
        path,
        what="--config file",
        error=SpecError,
        shape="`option: value` lines",
        missing_fix="check the --config path",
    )
    options = {str(key).replace("-", "_"): value for key, value in data.items()}
    reject_unknown_keys(
        options,
        OPTION_NAMES + CONNECTION_NAMES,
        where=str(path),
        kind="key",
        error=SpecError,
        fallback="see --help for the keys",
    )
    for key, value in options.items():
        options[key] = _checked_type(path, key, value)
    return options


def _checked_type(path: str | Path, key: str, value: Any) -> Any:
    """A scalar for single options; a scalar or list for repeatable ones (transition, subnet)."""
    scalar = (str, int, float, bool)
    if value is None or isinstance(value, scalar):
        return value
    if key in LIST_OPTIONS and isinstance(value, list):
        allowed = (*scalar, Mapping) if key == "transition" else scalar
        if all(isinstance(item, allowed) for item in value):
            return value
    kind = "a list of values" if key in LIST_OPTIONS else "one value"
    raise SpecError(
        f"{path}: {key} must be {kind}, not {type(value).__name__}",
        f"write e.g. {key}: {'[...]' if key in LIST_OPTIONS else '...'} (see --help)",
    )


def merge_options(from_file: Mapping[str, Any], from_cli: Mapping[str, Any]) -> dict[str, Any]:
    """Command-line values win over the file; None and empty lists mean "not given"."""
    merged = dict(from_file)
    for key, value in from_cli.items():
        if value is None or (isinstance(value, list | tuple) and not value):
            continue
        merged[key] = value
    return merged


def check_endpoint_url(url: str | None) -> str | None:
    """An http(s) URL with a host, or None: anything else would fail deep inside botocore."""
    if url is None:
        return None
    from urllib.parse import urlsplit

    text = str(url).strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError(
            f"--endpoint-url {clip(text)} is not a URL",
            "give http(s)://host[:port], e.g. http://127.0.0.1:5000",
        )
    return text
