"""The images the stacks deploy that a scanner on GitHub can pull: the pinned third-party images and prod's own
(dev's live in the homelab's registry, which only the build PC reaches). Printed as a JSON list for a matrix."""

from __future__ import annotations

import json

from tools.mock_engine import stack_config
from versions import versions


def deployed_images() -> list[str]:
    pinned = versions().images
    third_party = [getattr(pinned, name) for name in type(pinned).model_fields]
    own = stack_config("prod")["kiban:images"]
    return sorted({*third_party, own["faceApi"], own["frontend"]})


if __name__ == "__main__":
    print(json.dumps(deployed_images()))
