"""One module per AWS resource the tool manages, each with read → state, diff(spec, state) →
changes, check(state) → findings and teardown(state) → changes:

kms_key, log_group, bucket (+ lifecycle, account_access), role, network, document.
"""
