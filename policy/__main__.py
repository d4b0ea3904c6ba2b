"""kiban's policy pack: `pulumi preview --policy-pack policy --policy-pack-config policy/config.<stack>.json`.

Only assembles the pack (the `PolicyPack` constructor serves it and blocks); the rules live in `policy/rules.py`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the rules use kiban's own modules

from pulumi_policy import PolicyPack  # noqa: E402

from policy.pack import policies  # noqa: E402

PolicyPack(name="kiban", policies=policies())
