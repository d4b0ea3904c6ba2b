"""kiban's CrossGuard policy pack: the rule functions (`rules.py`, `pod_security.py`) that `pulumi preview
--policy-pack policy` runs through `__main__.py`, and that the test suite runs on every stack's resources."""
