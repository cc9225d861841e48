"""The member-account template: one CloudFormation template every account × region can run.

A StackSet deploys the same template to every account of the target OUs in every region asked
for, so nothing in it may name one account or one region. The template is rendered by
``provision.export`` (the same resource modules, the same policies) for a stand-in account, and
every string that names the stand-in account or the rendering region becomes an ``Fn::Sub`` on
``${AWS::AccountId}``/``${AWS::Region}``: the default bucket ``ssm-session-logs-ACCOUNT-REGION``,
the key policies' ARNs, the instance policy's resources and its per-region name.

What cannot be the same in every account × region is refused before anything is written: a fixed
bucket name (S3 names are global) unless it is a central log-archive bucket every member writes
to under its own account's prefix, the archive itself, and ``--create-role`` (IAM is global, so a
second region's stack would collide with the first one's role).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from provision.errors import SpecError

STANDIN_ACCOUNT = "000000000000"
DEFAULT_STACK_SET_NAME = "costcompare-session-logging"
PLACEHOLDER_OU = "ou-xxxx-xxxxxxxx"
ACCOUNT_VARIABLE = "${AWS::AccountId}"
REGION_VARIABLE = "${AWS::Region}"
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM")
# Bounded rollout: at most a quarter of an OU's accounts at once per region, all regions in
# parallel, and stop at the first failure (an audit setup should not half-succeed quietly).
MAX_CONCURRENT_PERCENTAGE = 25
FAILURE_TOLERANCE_PERCENTAGE = 0
REGION_CONCURRENCY = "PARALLEL"


def check_member_options(options: Mapping[str, Any]) -> None:
    """Refuse what one template cannot do in every account × region (before any output).

    A member of a central log-archive bucket (``--bucket NAME --bucket-account ID``) is the
    one case where a fixed bucket name is right: every member writes under its own
    ``<prefix>/${AWS::AccountId}``.
    """
    if options.get("central_bucket"):
        raise SpecError(
            "--central-bucket with --stackset: the log archive is one bucket in one account",
            "create it there (provision apply --central-bucket), then roll out the members "
            "with --bucket NAME --bucket-account ID",
        )
    if options.get("bucket") and not options.get("bucket_account"):
        raise SpecError(
            f"--bucket {options['bucket']!r} with --stackset: a bucket name is global and "
            "every account × region needs its own",
            "drop --bucket (each is ssm-session-logs-${AWS::AccountId}-${AWS::Region}), or add "
            "--bucket-account for a central bucket",
        )
    if options.get("bucket_account") and options.get("key_prefix"):
        raise SpecError(
            "--key-prefix with --bucket-account and --stackset: the central bucket takes each "
            "member's uploads only under a prefix ending with that member's account id",
            "drop --key-prefix: the template writes under session-logs/${AWS::AccountId}",
        )
    if options.get("vpc_id") or options.get("subnet"):
        raise SpecError(
            "--vpc-id/--subnet with --stackset: VPC and subnet ids differ in every account",
            "drop them; add each account's endpoints with 'provision export --vpc-id' or apply",
        )
    if options.get("create_role"):
        raise SpecError(
            "--create-role with --stackset: an IAM role is global, so the stack of a second "
            "region would collide with the first one's",
            "create the role once per account (landing zone, a one-region StackSet) and pass "
            "--role NAME",
        )


def member_template(options: Mapping[str, Any], region: str) -> dict[str, Any]:
    """The export template with every account- and region-specific string made a variable."""
    from provision.export import template
    from provision.spec import build_spec

    check_member_options(options)
    spec = build_spec(options, region, account=STANDIN_ACCOUNT)
    body = template(spec, STANDIN_ACCOUNT)
    # A central archive's name is the same bucket from every member region, even when it
    # names its home region (a per-region name would send transcripts to a stranger's bucket);
    # likewise the existing instance role (IAM is global).
    names = [spec.bucket.name if spec.bucket is not None and spec.bucket.member else None]
    names.append(spec.role_name)
    keep = tuple(n for n in names if n and spec.region in n)  # only what the swap would change
    body["Resources"] = generalise(body["Resources"], STANDIN_ACCOUNT, spec.region, keep)
    body["Description"] = (
        f"costcompare: Session Manager logging to {spec.destination} in each member account "
        "and region of a service-managed StackSet. SSM-SessionManagerRunShell must not exist "
        "yet where it deploys (CloudFormation cannot import it)."
    )[:1024]
    return body


def generalise(value: Any, account: str, region: str, keep: Sequence[str] = ()) -> Any:
    """``value`` with each string naming ``account`` or ``region`` as an ``Fn::Sub``.

    An ARN of another account (an existing key in a log account) is left as given: it names
    the same thing from every member account; so are the names in ``keep`` (a central bucket
    named after its home region). ``${`` already in a string is escaped (``${!``) so the shell
    profile's own variables reach the document unchanged.
    """
    if isinstance(value, Mapping):
        return {key: generalise(item, account, region, keep) for key, item in value.items()}
    if isinstance(value, list):
        return [generalise(item, account, region, keep) for item in value]
    if not isinstance(value, str):
        return value
    masked = value
    for index, name in enumerate(keep):
        masked = masked.replace(name, f"\0{index}\0")
    if not _names_this_account(masked, account, region):
        return value
    text = masked.replace("${", "${!").replace(account, ACCOUNT_VARIABLE)
    text = text.replace(region, REGION_VARIABLE)
    for index, name in enumerate(keep):
        text = text.replace(f"\0{index}\0", name)
    return {"Fn::Sub": text}


def _names_this_account(text: str, account: str, region: str) -> bool:
    """A string to generalise: it names the stand-in account or the region, and it is not the
    ARN of something in another account (or an AWS-owned one, such as a managed policy)."""
    if account not in text and region not in text:
        return False
    parts = text.split(":")
    return not text.startswith("arn:") or (len(parts) > 4 and parts[4] in (account, ""))


def fold_command(command: str, width: int = 96) -> list[str]:
    """A shell command as lines of at most ``width`` characters, joined by backslashes."""
    lines, current = [], ""
    for word in command.split(" "):
        if current and len(current) + 1 + len(word) > width - 2:
            lines.append(current + " \\")
            current = "    " + word
        else:
            current = f"{current} {word}" if current else word
    return [*lines, current]


def deploy_commands(
    template_file: str,
    *,
    stack_set_name: str = DEFAULT_STACK_SET_NAME,
    ous: Sequence[str] = (PLACEHOLDER_OU,),
    regions: Sequence[str] = (),
    call_as: str = "SELF",
) -> list[str]:
    """The AWS CLI commands that deploy ``template_file`` as a service-managed StackSet."""
    as_admin = f" --call-as {call_as}" if call_as != "SELF" else ""
    name = f"--stack-set-name {stack_set_name}"
    preferences = (
        f"MaxConcurrentPercentage={MAX_CONCURRENT_PERCENTAGE},"
        f"FailureTolerancePercentage={FAILURE_TOLERANCE_PERCENTAGE},"
        f"RegionConcurrencyType={REGION_CONCURRENCY}"
    )
    return [
        f"aws cloudformation create-stack-set {name} --template-body file://{template_file} "
        "--permission-model SERVICE_MANAGED "
        "--auto-deployment Enabled=true,RetainStacksOnAccountRemoval=true "
        f"--capabilities {' '.join(CAPABILITIES)}{as_admin}",
        f"aws cloudformation create-stack-instances {name} "
        f"--deployment-targets OrganizationalUnitIds={','.join(ous)} "
        f"--regions {' '.join(regions)} --operation-preferences {preferences}{as_admin}",
        f"aws cloudformation describe-stack-set-operation {name} --operation-id OPERATION_ID"
        f"{as_admin}",
        f"aws cloudformation list-stack-instances {name}{as_admin}",
    ]


def render_member_yaml(
    options: Mapping[str, Any], region: str, template_file: str | None = None
) -> str:
    """The member template as YAML, headed by the caveats and the commands that deploy it."""
    from provision.cfn_yaml import dump_template, wrap_comment
    from provision.resources import document

    body = dump_template(member_template(options, region))
    header = [
        "# Generated by 'costcompare provision export --stackset': a member-account template "
        "for a service-managed CloudFormation StackSet.",
        f"# {document.CFN_CAVEAT}",
        "# Stores and keys are kept (DeletionPolicy: Retain) when a stack instance is deleted.",
    ]
    if options.get("role"):
        header.append(
            f"# The role {options['role']} must exist in every member account; attach "
            "AmazonSSMManagedInstanceCore to it yourself."
        )
    commands = deploy_commands(template_file or "member.yaml", regions=(region,))
    lines = [wrap_comment(line) for line in header]
    lines.append("# Deploy it to OUs and regions (or run 'costcompare provision rollout'):")
    lines += [f"#   {line}" for command in commands for line in fold_command(command)]
    return "\n".join(lines) + "\n" + body


def export_text(
    options: Mapping[str, Any],
    region: str,
    account_id: str | None,
    read_account: Callable[[], str],
    *,
    stackset: bool = False,
    out: str | Path | None = None,
    read_vpc: Callable[[Any], Any] | None = None,
) -> str:
    """What ``provision export`` writes: the one-account template, or the member template.

    The member template needs no account, so ``--stackset`` makes no AWS call at all.
    ``read_vpc(spec)`` reads the VPC of ``--vpc-id`` (``provision.export.read_network``).
    """
    from provision.export import check_account_id, check_exportable, render_yaml
    from provision.spec import build_spec

    if stackset:
        if account_id is not None:
            raise SpecError(
                "--account-id with --stackset: the member template names no account",
                "drop --account-id",
            )
        return render_member_yaml(options, region, str(out) if out else None)
    account = check_account_id(account_id) if account_id is not None else None
    check_exportable(build_spec(options, region, account=account or STANDIN_ACCOUNT))
    account = account or read_account()
    spec = build_spec(options, region, account=account)
    return render_yaml(spec, account, read_vpc(spec) if read_vpc else None)
