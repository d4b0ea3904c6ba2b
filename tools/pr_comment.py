"""The pull-request comment of the offline render (`preview-comment.yml`), built from untrusted files.

`preview-comment.yml` runs in kiban's own context with a token that may comment, after the `preview` workflow of a
pull request (a fork's among them) finished. Everything that workflow uploaded is the pull request's to choose, so:

- the pull request is the one GitHub names in the `workflow_run` event (its head SHA and repository), never a number
  from the artifact (`pull_request_number`);
- each diff sits in a code fence longer than any run of backticks inside it, so no line of it can close the fence
  and post markdown as the bot;
- the body stays under GitHub's 65,535-character limit for a comment: the diffs share what is left and a cut one
  says so, pointing at the run whose artifact holds the whole diff.

    python3 tools/pr_comment.py number  EVENT.json PULLS.json   # the pull request's number, or exit 1
    python3 tools/pr_comment.py body    DIR RUN_URL              # the comment, from DIR/diff-<stack>.txt
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

GITHUB_COMMENT_LIMIT = 65_535
BUDGET = 60_000
"""Characters of the body kiban fills: well under GitHub's limit, whatever the headers and notes add."""
STACKS = ("dev", "prod")
READ_LIMIT = 4 * BUDGET
"""Characters read from each uploaded diff (an artifact can be as large as its author likes)."""
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def pull_request_number(event: Mapping[str, Any], pulls: Sequence[Mapping[str, Any]]) -> int:
    """The open pull request the finished run was for: the one whose head is the run's head commit in the run's head
    repository. `event` is the `workflow_run` event's payload; `pulls` what
    `GET /repos/{repo}/pulls?state=open&head={owner}:{branch}` returned (a fork's run has no `pull_requests` in the
    event, so it is looked up; the run's head SHA decides, not the branch name the fork chose)."""
    run = event["workflow_run"]
    head_sha, head_repository = run["head_sha"], run["head_repository"]
    for pull in [*(run.get("pull_requests") or []), *pulls]:
        head = pull.get("head") or {}
        if head.get("sha") == head_sha and (head.get("repo") or {}).get("id") == head_repository["id"]:
            return int(pull["number"])
    raise LookupError(f"no open pull request has the head {head_repository['full_name']}@{head_sha}")


def fence_for(text: str) -> str:
    """A backtick fence longer than the longest run of backticks in `text` (CommonMark: a closing fence is at least
    as long as the opening one), so the text cannot end it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _fenced(text: str) -> str:
    fence = fence_for(text)
    return f"{fence}diff\n{text}\n{fence}"


def _cut(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut  # whole lines only
    return cut, True


def comment_body(diffs: Mapping[str, str], run_url: str, budget: int = BUDGET) -> str:
    """The comment: a header, then per stack its diff in a safe fence, each cut to its share of `budget`."""
    header = "### Offline render (no cluster, no secrets)\n"
    share = budget // max(1, len(diffs))
    parts = [header]
    for stack, diff in diffs.items():
        diff = CONTROL.sub("", diff).rstrip("\n")
        shown, cut = _cut(diff, max(0, share - 400))
        note = (
            f"\n\n**Truncated**: {len(shown.splitlines())} of {len(diff.splitlines())} lines shown; the whole diff is "
            f"in the `render` artifact of [the preview run]({run_url})."
            if cut
            else ""
        )
        summary = "no change to the render summary" if not diff else "change to the render summary"
        parts.append(f"<details><summary>{stack}: {summary}</summary>\n\n{_fenced(shown or ' ')}{note}\n\n</details>\n")
    body = "\n".join(parts)
    assert len(body) < GITHUB_COMMENT_LIMIT, len(body)
    return body


def read_diffs(directory: Path) -> dict[str, str]:
    """Each stack's uploaded diff, at most `READ_LIMIT` characters of it; a missing one reads as a failed render."""
    diffs = {}
    for stack in STACKS:
        path = directory / f"diff-{stack}.txt"
        if path.is_file() and not path.is_symlink():
            with path.open(encoding="utf-8", errors="replace") as handle:
                diffs[stack] = handle.read(READ_LIMIT)
        else:
            diffs[stack] = f"(the render job uploaded no diff for {stack})"
    return diffs


def main(argv: Sequence[str]) -> int:
    if len(argv) == 4 and argv[1] == "number":
        event, pulls = (json.loads(Path(p).read_text()) for p in argv[2:4])
        try:
            print(pull_request_number(event, pulls))
        except LookupError as error:
            print(f"::error::{error}", file=sys.stderr)
            return 1
        return 0
    if len(argv) == 4 and argv[1] == "body":
        sys.stdout.write(comment_body(read_diffs(Path(argv[2])), argv[3]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
