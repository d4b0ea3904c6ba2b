"""What makes one run of the program cheaper, set up before the SDKs load (issue 26; docs/architecture.md, "What a
run costs"). Both hold under `pulumi up` as under the offline engine, and neither changes what is declared.

- Garbage collection is off for the run and everything is frozen at exit: one run declares a few hundred resources
  and ends, and the collector would walk the ~400k objects the SDKs import again and again (and at exit) for the few
  cycles it frees. The mock engine turns collection back on after each run it makes.
- Each registration's source position is built once per call site instead of once per registration
  (`source_positions.py`), with the SDK's own per-frame function: the same messages.
"""

import atexit
import gc


def tune_run() -> None:
    """Collection off for the run and frozen at exit; source positions built once per call site."""
    gc.disable()
    atexit.register(gc.freeze)
    import source_positions  # imports the SDK: after collection is off

    source_positions.install()
