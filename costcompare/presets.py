"""Compliance presets: the retention, lifecycle and Object Lock a clause implies, as data.

The presets live in ``costcompare/presets.yaml`` (shipped in the package); this module loads and
checks them, applies one to a workload (``estimate --preset``) or to provisioning options
(``provision plan|apply|export --preset``), and says what changed and why, clause included.

The rule for a preset next to explicit settings: a preset states minimums. An explicit flag (or
``--config`` key) may keep logs longer than the preset asks, never shorter, and may not archive
logs the clause needs immediately available; such a conflict is an error that names both. Keys
the user did not give are set to the preset's values (a workload file's values included: the
preset is what is being priced).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from costcompare.awsfacts import LifecycleRule, check_lifecycle, check_retention_days
from costcompare.errors import CostCompareError, WorkloadError

PRESETS_FILE = "presets.yaml"
# S3 classes read at once (milliseconds): what "immediately available" allows.
IMMEDIATE_CLASSES = ("STANDARD", "STANDARD_IA", "ONEZONE_IA", "GLACIER_IR")
ALL_DESTINATIONS = ("cloudwatch", "cloudwatch-ia", "s3", "both")
_KEYS = {
    "title", "clause", "source", "retention_days", "immediately_available_days",
    "both_cloudwatch_retention_days", "s3_lifecycle", "object_lock", "destinations", "notes",
}  # fmt: skip
ErrorType = type[CostCompareError]


@dataclass(frozen=True)
class Preset:
    """One compliance preset: what it follows and the settings that follow from it."""

    name: str
    title: str
    clause: str
    source: str
    retention_days: int | None = None
    immediately_available_days: int | None = None
    both_cloudwatch_retention_days: int | None = None
    s3_lifecycle: tuple[LifecycleRule, ...] = ()
    object_lock: bool = False
    destinations: tuple[str, ...] = ALL_DESTINATIONS
    notes: tuple[str, ...] = ()

    @property
    def cited(self) -> str:
        """The clause with its title, as a note prints it."""
        return f"{self.title}: “{self.clause}”"

    def settings(self) -> dict[str, Any]:
        """What the preset sets, for listings and JSON."""
        return {
            "retention_days": self.retention_days,
            "immediately_available_days": self.immediately_available_days,
            "both_cloudwatch_retention_days": self.both_cloudwatch_retention_days,
            "s3_lifecycle": [r.as_dict() for r in self.s3_lifecycle],
            "object_lock": "COMPLIANCE" if self.object_lock else None,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "clause": self.clause,
            "source": self.source,
            "settings": self.settings(),
            "destinations": list(self.destinations),
            "notes": list(self.notes),
        }


# -- loading ----------------------------------------------------------------------------------


@cache
def load_presets() -> dict[str, Preset]:
    """Every shipped preset by name (read once; the file is package data)."""
    import yaml

    text = resources.files("costcompare").joinpath(PRESETS_FILE).read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    return {str(name): _preset(str(name), body) for name, body in data.items()}


def _preset(name: str, body: Mapping[str, Any]) -> Preset:
    """One entry of the file, checked: a broken shipped preset must fail its test, loudly."""
    unknown = set(body) - _KEYS
    if unknown:
        raise ValueError(f"preset {name}: unknown keys {sorted(unknown)}")
    rules = tuple(
        LifecycleRule(int(r["after_days"]), str(r["storage_class"]))
        for r in body.get("s3_lifecycle") or ()
    )
    check_lifecycle(rules)
    for key in ("retention_days", "both_cloudwatch_retention_days"):
        check_retention_days(body.get(key), name=f"preset {name}: {key}")
    destinations = tuple(body.get("destinations") or ALL_DESTINATIONS)
    if set(destinations) - set(ALL_DESTINATIONS):
        raise ValueError(f"preset {name}: unknown destinations {destinations}")
    return Preset(
        name=name,
        title=str(body["title"]),
        clause=" ".join(str(body["clause"]).split()),
        source=" ".join(str(body["source"]).split()),
        retention_days=body.get("retention_days"),
        immediately_available_days=body.get("immediately_available_days"),
        both_cloudwatch_retention_days=body.get("both_cloudwatch_retention_days"),
        s3_lifecycle=rules,
        object_lock=bool(body.get("object_lock", False)),
        destinations=destinations,
        notes=tuple(_text(name, n) for n in body.get("notes") or ()),
    )


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"preset {name}: a note must be text, not {value!r}")
    return " ".join(value.split())


def get_preset(name: str, *, error: ErrorType = WorkloadError) -> Preset:
    """The preset called ``name``, or one line naming the ones there are."""
    presets = load_presets()
    key = str(name).strip().lower()
    if key not in presets:
        import difflib

        close = difflib.get_close_matches(key, list(presets), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise error(
            f"unknown preset {name!r}",
            f"{hint}use one of {', '.join(presets)} (`costcompare presets` lists them)",
        )
    return presets[key]


# -- the rule: explicit settings may go beyond a preset, never below it ------------------------


def check_retention(preset: Preset, days: int | None, flag: str, error: ErrorType) -> None:
    """``days`` (None: forever) must keep logs at least as long as the preset asks."""
    if preset.retention_days is None or days is None or days >= preset.retention_days:
        return
    raise error(
        f"{flag} {days} is shorter than --preset {preset.name} requires "
        f"({preset.retention_days} days: {preset.title})",
        f"drop {flag}, or give at least {preset.retention_days}",
    )


def check_transitions(
    preset: Preset, rules: Sequence[LifecycleRule], flag: str, error: ErrorType
) -> None:
    """No transition to an archive class before the clause's immediately-available days."""
    days = preset.immediately_available_days
    if days is None:
        return
    for rule in rules:
        if rule.storage_class not in IMMEDIATE_CLASSES and rule.after_days < days:
            raise error(
                f"{flag} moves logs to {rule.storage_class} after {rule.after_days} days, but "
                f"--preset {preset.name} needs the newest {days} days immediately available",
                f"transition to an archive class after {days} days or later, or to GLACIER_IR",
            )


def lock_days(
    preset: Preset, retention_days: int | None, error: ErrorType, flag: str = "--retention-days"
) -> int | None:
    """Object Lock days: the retention, which must then be a number of days (``flag`` is the
    option that gives it)."""
    if not preset.object_lock:
        return None
    if retention_days is None:
        raise error(
            f"--preset {preset.name} locks objects (S3 Object Lock) but logs are kept forever",
            f"give {flag} N: compliance-mode Object Lock needs a period in days",
        )
    return retention_days


# -- estimate: a preset applied to a workload ----------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """A preset applied: the new values, what changed (key, before, after) and the notes."""

    preset: Preset
    overrides: dict[str, Any]
    changes: tuple[tuple[str, Any, Any], ...]

    def notes(self, destinations: Sequence[str] | None = None) -> list[str]:
        """Lines for the estimate's notes: the clause, what changed, what does not comply."""
        p = self.preset
        changed = "; ".join(f"{k} {_show(a)} → {_show(b)}" for k, a, b in self.changes)
        lines = [
            f"Preset {p.name} — {p.cited} (source: {p.source}). "
            + (f"Changed: {changed}." if changed else "The workload already met it.")
        ]
        names = destinations or ALL_DESTINATIONS
        short = [d for d in names if d not in p.destinations]
        if short:
            lines.append(f"{', '.join(short)} cannot meet preset {p.name}.")
        return lines + list(p.notes)


def _show(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, tuple | list):
        return ",".join(_rule_text(r) for r in value) or "none"
    return str(value)


def _rule_text(rule: Any) -> str:
    if isinstance(rule, Mapping):
        return f"{rule['after_days']}:{rule['storage_class']}"
    return str(rule)


def apply_to_workload(preset: Preset, workload: Any, given: Mapping[str, Any]) -> Applied:
    """The workload keys the preset sets, checked against ``given`` (the explicit flags).

    ``given`` maps a workload key to the flag's value (None: the flag was not used).
    """
    error = WorkloadError
    retention = given.get("retention_days")
    if retention is not None:
        check_retention(preset, retention, "--retention-days", error)
    elif preset.retention_days is not None:
        retention = preset.retention_days
    else:
        retention = workload.retention_days
    lifecycle = given.get("s3_lifecycle")
    if lifecycle is not None:
        check_transitions(preset, lifecycle, "--s3-lifecycle", error)
    elif preset.s3_lifecycle:
        lifecycle = preset.s3_lifecycle
    else:
        lifecycle = workload.s3_lifecycle
    check_transitions(preset, lifecycle, "s3_lifecycle", error)
    wanted: dict[str, Any] = {"retention_days": retention, "s3_lifecycle": tuple(lifecycle)}
    # What the preset does not set stays as the workload has it (a lock the clause does not
    # ask for is still a lock, and a longer one stays longer).
    both = preset.both_cloudwatch_retention_days
    if both is None:
        both = workload.both_cloudwatch_retention_days
    elif retention is not None and both > retention:
        both = retention
    wanted["both_cloudwatch_retention_days"] = both
    lock = lock_days(preset, retention, error)
    had = workload.s3_object_lock_days
    wanted["s3_object_lock_days"] = had if lock is None or (had or 0) > lock else lock
    changes = tuple(
        (key, getattr(workload, key), value)
        for key, value in wanted.items()
        if getattr(workload, key) != value
    )
    return Applied(preset, wanted, changes)


def estimate_with_preset(
    name: str,
    workload: Any,
    run: Callable[[Any], Any],
    retention_flag: int | None,
    lifecycle_flag: str | None,
) -> Any:
    """``run`` (an estimate of a workload) on the workload with the preset applied, its notes
    saying the clause, what changed, and what that costs against the workload without it.

    ``retention_flag``/``lifecycle_flag`` are the explicit flags (None: not given); the flags'
    values are already in ``workload``.
    """
    preset = get_preset(name)
    given = {
        "retention_days": retention_flag,
        "s3_lifecycle": workload.s3_lifecycle if lifecycle_flag is not None else None,
    }
    applied = apply_to_workload(preset, workload, given)
    result = run(dataclasses.replace(workload, **applied.overrides))
    result.notes.extend(applied.notes([d.name for d in result.destinations]))
    without = run(workload) if applied.changes else result
    if applied.changes:
        result.notes.append(cost_change_note(without, result))
    result.preset = {
        **preset.as_dict(),
        "changes": [{"key": k, "from": _plain(a), "to": _plain(b)} for k, a, b in applied.changes],
        "steady_state_monthly_usd_without": {
            d.name: without.get(d.name).steady_state_monthly_usd for d in result.destinations
        },
    }
    return result


def _plain(value: Any) -> Any:
    """A workload value as JSON data (lifecycle rules as mappings)."""
    if isinstance(value, tuple | list):
        return [r.as_dict() if isinstance(r, LifecycleRule) else r for r in value]
    return value


def cost_change_note(before: Any, after: Any) -> str:
    """What the preset changes in the steady-state month, per destination (USD)."""
    parts = []
    for dest in after.destinations:
        old = before.get(dest.name).steady_state_monthly_usd
        new = dest.steady_state_monthly_usd
        parts.append(f"{dest.name} ${old:,.2f} → ${new:,.2f} ({new - old:+,.2f})")
    return "Preset cost per month (steady state), without → with it: " + "; ".join(parts) + "."


# -- provision: a preset applied to the options ---------------------------------------------------


def provision_options(options: Mapping[str, Any], *, error: ErrorType) -> dict[str, Any]:
    """``options`` with ``preset`` resolved into retention, transitions, expiration and Object
    Lock for the destination; explicit options win when they go beyond the preset."""
    name = options.get("preset")
    if not name:
        return dict(options)
    preset = get_preset(str(name), error=error)
    out = {k: v for k, v in options.items() if k != "preset"}
    destination = str(getattr(options.get("destination"), "value", options.get("destination")))
    if destination not in preset.destinations:
        raise error(
            f"--preset {preset.name} cannot be met with --destination {destination}",
            f"use --destination {' or '.join(preset.destinations)}",
        )
    keep = _given_int(out, "expiration_days")
    if keep is not None:
        check_retention(preset, keep, "--expiration-days", error)
    else:
        keep = preset.retention_days
    if destination in ("cloudwatch", "both"):
        _provision_log_group(preset, out, destination, keep, error)
    if destination in ("s3", "both"):
        _provision_bucket(preset, out, keep, error)
    return out


def _given_int(options: Mapping[str, Any], key: str) -> int | None:
    value = options.get(key)
    try:
        return None if value is None else int(str(value).strip())
    except ValueError:
        return None  # build_spec names the bad value in its own words


def _provision_log_group(
    preset: Preset, out: dict[str, Any], destination: str, keep: int | None, error: ErrorType
) -> None:
    """CloudWatch keeps the whole period alone, or (with both) the immediately available days."""
    short = preset.both_cloudwatch_retention_days if destination == "both" else None
    need = short if short is not None else preset.retention_days
    if out.get("retain_forever"):
        return
    given = _given_int(out, "retention_days")
    if given is not None:
        if need is not None and given < need:
            floor = dataclasses.replace(preset, retention_days=need)
            check_retention(floor, given, "--retention-days", error)
        return
    days = need if short is not None else keep
    if days is not None:
        out["retention_days"] = days


def _provision_bucket(
    preset: Preset, out: dict[str, Any], keep: int | None, error: ErrorType
) -> None:
    from costcompare.awsfacts import check_storage_class

    given = out.get("transition")
    if given:
        rules = []
        for item in given if isinstance(given, list | tuple) else [given]:
            days, _, cls = str(item).partition(":")
            if days.strip().isdigit():
                cls = check_storage_class(cls, error=error, what=f"--transition {item}")
                rules.append(LifecycleRule(int(days), cls))
        check_transitions(preset, rules, "--transition", error)
    elif preset.s3_lifecycle:
        out["transition"] = [f"{r.after_days}:{r.storage_class}" for r in preset.s3_lifecycle]
    if out.get("expiration_days") is None and keep is not None:
        out["expiration_days"] = keep
    lock = lock_days(preset, keep, error, "--expiration-days")
    if lock is not None:
        given_lock = _given_int(out, "object_lock_days")
        if given_lock is not None and given_lock < lock:
            raise error(
                f"--object-lock-days {given_lock} is shorter than --preset {preset.name} "
                f"locks logs ({lock} days)",
                f"drop --object-lock-days, or give at least {lock}",
            )
        out["object_lock_days"] = given_lock or lock


def listing() -> list[dict[str, Any]]:
    """Every preset as plain data (``costcompare presets -o json``)."""
    return [p.as_dict() for p in load_presets().values()]


def render_listing(width: int | None = None) -> str:
    """The presets as text: name, title, clause, source, settings, who can meet it, notes;
    each field wrapped to ``width`` (the terminal's), continued under its text."""
    from costcompare.tables import fill

    lines = []
    for p in load_presets().values():
        settings = ", ".join(
            f"{k} {_show(v)}" for k, v in p.settings().items() if v not in (None, [])
        )
        fields = [
            f"  clause: {p.clause}",
            f"  source: {p.source}",
            f"  sets: {settings or 'nothing (the workload keeps its retention)'}",
            f"  met by: {', '.join(p.destinations)}",
            *(f"  note: {n}" for n in p.notes),
        ]
        lines += [
            fill(f"{p.name} — {p.title}", width, indent="    "),
            *(fill(text, width, indent="    ") for text in fields),
            "",
        ]
    return "\n".join(lines)
