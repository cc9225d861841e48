"""The member command apply --central-bucket prints: folded to the terminal, still one command."""

from __future__ import annotations

from types import SimpleNamespace

from provision.cli_central import member_hint
from provision.spec import DEFAULT_KEY_PREFIX

ARN = "arn:aws:kms:ap-northeast-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def test_the_member_command_fits_80_columns_and_pastes_as_one(capsys, monkeypatch):
    """It was one 190-column line; the ARN alone is 80 columns, so it gets a line to itself."""
    monkeypatch.setenv("COLUMNS", "80")
    key = SimpleNamespace(existing_arn=ARN, alias="alias/costcompare/session-logs-s3")
    spec = SimpleNamespace(
        central=object(),
        bucket=SimpleNamespace(name="acme-archive", key=key, key_prefix=DEFAULT_KEY_PREFIX),
    )
    ctx = SimpleNamespace(account_id=lambda: "111122223333", region="ap-northeast-1")
    member_hint(ctx, spec)
    out = capsys.readouterr().out
    lines = out.splitlines()[1:]
    # a key ARN is 80 characters by itself: it gets a line of its own, nothing else may pass 80
    too_long = [line for line in lines if len(line) > 80]
    assert [line.split()[0] for line in too_long] == [ARN], lines
    assert all(len(line.rstrip(" \\").split()) == 1 for line in too_long)
    command = " ".join(line.strip().rstrip("\\").strip() for line in lines)
    assert command == (
        "costcompare provision apply -d s3 --bucket acme-archive --bucket-account 111122223333 "
        f"--bucket-kms-key {ARN} --role ROLE --region ap-northeast-1"
    )
