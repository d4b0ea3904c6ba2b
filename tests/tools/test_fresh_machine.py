"""The project's own commands on a fresh machine: `make render` installs helm alone (no root, no system package);
CI, `.ci/run` and the README run the same tests; the workflows' steps run as the runner's user; and nothing in the
install code pins a distribution's point release or a versioned system path."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def workflow(name: str) -> dict:
    return yaml.load((ROOT / ".github" / "workflows" / name).read_text(), Loader=yaml.BaseLoader)


def runs(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def readme_commands() -> list[str]:
    """The make commands the README shows (its code blocks' lines), without their comments."""
    text = (ROOT / "README.md").read_text()
    return [line.split("#")[0].strip() for line in text.splitlines() if line.startswith("make ")]


def test_render_installs_helm_and_nothing_else_of_the_tools():
    planned = subprocess.run(["make", "-n", "render", "STACK=dev"], cwd=ROOT, capture_output=True, text=True, check=True)
    installs = [line.split("install_tools.py", 1)[1].split() for line in planned.stdout.splitlines()
                if "install_tools.py" in line]
    assert installs == [["helm"]], planned.stdout


def test_ci_the_ci_script_and_the_readme_run_the_same_tests():
    script = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.startswith("make ")]
    ci = [command for run in runs(workflow("ci.yml")["jobs"]["test"]) for command in run.splitlines()
          if command.startswith("make ")]
    assert script and ci == script, "GitHub's CI runs what .ci/run runs"
    assert set(script) <= set(readme_commands()), "the README shows every command CI runs"
    assert "make test" in script
    said = [line for line in (ROOT / "README.md").read_text().splitlines() if ".ci/run" in line]
    assert said and all(line.startswith(tuple(script)) for line in said), "the README says which of them CI runs"


def test_a_render_that_fails_fails_the_pull_requests_render_job():
    job = workflow("preview.yml")["jobs"]["render"]
    script = "\n".join(runs(job))
    assert "make -C" in script and "render" in script
    assert "|| true" not in script
    render_step = next(step for step in job["steps"] if "render" in step.get("run", "") and "make" in step["run"])
    assert render_step.get("shell") == "bash", "bash with pipefail: a failed make before `tee` fails the step"


def test_hosted_jobs_install_system_packages_through_sudo():
    """GitHub's runners run steps as an unprivileged user with password-less sudo."""
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for name, job in yaml.load(path.read_text(), Loader=yaml.BaseLoader)["jobs"].items():
            if not str(job.get("runs-on", "")).startswith("ubuntu-"):
                continue
            for run in runs(job):
                for use in re.finditer(r"(\S+\s+)?apt-get\s+(install|update)", run):
                    assert (use.group(1) or "").strip() == "sudo", f"{path.name} {name}: {use.group(0)}"


def test_no_point_release_pin_or_versioned_system_path_in_the_install_code():
    tools = json.dumps(json.loads((ROOT / "versions.json").read_text())["tools"])
    for name, text in {"install_tools.py": (ROOT / "tools" / "install_tools.py").read_text(),
                       "versions.json tools": tools, "Makefile": (ROOT / "Makefile").read_text()}.items():
        path = Path(name)
        assert not re.search(r"deb\d+u\d+|ubuntu\d+\.\d+|\+ds\d*-\d|~deb", text), path.name
        assert not re.search(r"/usr/lib/postgresql/\d+|/usr/(s?bin|lib)/\S*\d+\.\d+", text), path.name
        assert not re.search(r"apt-get install\S* [^\n]*=", text), f"{path.name}: an apt pin"
