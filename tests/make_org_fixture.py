"""Write the committed `measure --org -o json` result notebook 04 reads:
``python tests/make_org_fixture.py``.

The organization of the ``measure --org`` tests (``tests/org_world.py``: 5 member accounts × 2
regions, one denying the role) in moto, measured by ``measure_org`` as the command would, saved
as ``-o json`` saves it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "org" / "measure-org.json"


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from moto import mock_aws

    from costcompare.aws import AwsContext
    from costcompare.orgmeasure import measure_org
    from tests.org_world import DAYS, NOW, REGIONS, build_organization, deny_role_of

    with mock_aws():
        _members, denied, _seeded = build_organization()
        aws = AwsContext(region="us-east-1", on_client=deny_role_of(denied))
        result = measure_org(aws, REGIONS, days=DAYS, now=NOW, workers=2)
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
    print(FIXTURE)


if __name__ == "__main__":
    main()
