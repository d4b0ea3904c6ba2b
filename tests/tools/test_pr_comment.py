"""tools/pr_comment.py: the comment `preview-comment.yml` posts from a pull request's untrusted artifact goes to the
pull request GitHub names for the run, cannot break out of its code fence, and fits GitHub's comment limit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.pr_comment import GITHUB_COMMENT_LIMIT, comment_body, fence_for, pull_request_number, read_diffs

ROOT = Path(__file__).resolve().parents[2]
RUN = "https://github.com/acme/kiban/actions/runs/1"
FORK = {"id": 99, "full_name": "mallory/kiban"}


def event(pull_requests=(), head_sha="c0ffee", head_repository=FORK) -> dict:
    return {"workflow_run": {"head_sha": head_sha, "head_repository": head_repository, "pull_requests": list(pull_requests)}}


def pull(number: int, sha: str = "c0ffee", repo_id: int = 99) -> dict:
    return {"number": number, "head": {"sha": sha, "repo": {"id": repo_id}}}


def test_the_pull_request_is_the_one_whose_head_is_the_runs_commit():
    assert pull_request_number(event([pull(7)]), []) == 7, "a branch of this repository: the event names it"
    assert pull_request_number(event(), [pull(8, sha="other"), pull(9)]) == 9, "a fork: looked up, the SHA decides"
    with pytest.raises(LookupError):
        pull_request_number(event(), [pull(10, repo_id=1)]), "same SHA from another repository"
    with pytest.raises(LookupError):
        pull_request_number(event(), [pull(11, sha="deadbeef")])


def fenced_blocks(body: str) -> list[list[str]]:
    """The code blocks of `body` as a CommonMark reader sees them: a block opened by a run of N >= 3 backticks ends
    at the first line that is only a run of at least N backticks."""
    blocks, current, fence = [], [], None
    for line in body.splitlines():
        if fence is None:
            match = re.fullmatch(r"(`{3,})[^`]*", line)
            fence, current = (match.group(1), []) if match else (None, current)
        elif re.fullmatch(r"`{%d,}\s*" % len(fence), line):
            blocks.append(current)
            fence = None
        else:
            current.append(line)
    return blocks if fence is None else [*blocks, current]


def test_a_diff_cannot_close_its_fence_and_post_markdown():
    hostile = "+ok\n```\n## I am the bot now\n[click](https://evil.example)\n````\n<details>\n+`````x"
    body = comment_body({"dev": hostile, "prod": ""}, RUN)
    fence = fence_for(hostile)
    assert len(fence) == 6, "one longer than the longest run of backticks in the diff"
    assert f"{fence}diff\n{hostile}\n{fence}" in body
    assert fenced_blocks(body) == [hostile.splitlines(), [" "]], "each diff stays inside its own block"
    # The old comment (a plain ``` fence) let the same diff out: the reader above sees the escape.
    assert fenced_blocks(f"```diff\n{hostile}\n```")[0] == ["+ok"]


def test_two_large_diffs_fit_one_comment_and_say_they_were_cut():
    line = "+" + "x" * 99 + "\n"
    body = comment_body({"dev": line * 600, "prod": line * 600}, RUN)  # 60,600 characters each
    assert len(body) < GITHUB_COMMENT_LIMIT
    assert body.count("**Truncated**") == 2 and RUN in body
    small = comment_body({"dev": "+a\n-b", "prod": ""}, RUN)
    assert "Truncated" not in small and "+a\n-b" in small and "prod: no change" in small


def test_the_workflow_builds_the_body_from_the_uploaded_files(tmp_path: Path):
    (tmp_path / "diff-dev.txt").write_text("+" + "y" * 200_000)  # one huge line
    (tmp_path / "diff-prod.txt").write_text("-z\n")
    assert set(read_diffs(tmp_path)) == {"dev", "prod"}
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "pr_comment.py"), "body", str(tmp_path), RUN],
                            capture_output=True, text=True, check=True)
    assert len(result.stdout) < GITHUB_COMMENT_LIMIT and "-z" in result.stdout
