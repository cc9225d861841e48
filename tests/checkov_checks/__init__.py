"""CloudFormation ports of checkov checks that checkov 3.x runs only on Terraform.

Loaded with ``checkov --external-checks-dir`` by tests/test_provision_export.py (checkov loads
only directories with an ``__init__.py``).
"""
