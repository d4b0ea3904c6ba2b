"""What the application's start-up tests (`make test-startup`, tests_startup/) run, installed under `.tools/` and
cached by what goes into it, so a warm run installs nothing.

- The app: `git clone --no-checkout` of its repository and a checkout of `backend` and `frontend` only at the commit
  versions.json pins (`appStartup.application`). Never committed to kiban.
- The backend as its image builds it (images/face-api/Dockerfile): a venv of the image's Python minor with
  `requirements.lock` installed hash-checked, kiban's files the Dockerfile copies into site-packages, the app's files
  the Dockerfile copies into its working directory, the app installed without dependencies, `pip check`, and the
  Dockerfile's migration step; a stand-in ONNX model where the Dockerfile downloads the real one.
- The frontend as its image builds it (images/face-frontend/Dockerfile): the app's `frontend/` with kiban's
  `package.json`, `pnpm install --frozen-lockfile` with the pinned pnpm, the Dockerfile's build environment and
  `pnpm run build`; stand-in face models where the Dockerfile downloads the real ones.
- The helpers beside them: Milvus Lite (a Milvus gRPC server) and onnx, in a venv of their own.

Python of the image's minor comes from the machine (`python3.X` on PATH, an interpreter uv finds, or pyenv's); none
fails with the one command that installs it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from versions import versions  # noqa: E402

TOOLS = ROOT / ".tools"
UV = TOOLS / "uv" / "bin" / "uv"
IMAGES = ROOT / "images"
BACKEND_IMAGE = IMAGES / "face-api"
FRONTEND_IMAGE = IMAGES / "face-frontend"
CHECKOUT = TOOLS / "faceapi"
"""The app's repository (backend/ and frontend/ checked out only)."""
COMPLETE = ".complete"
"""Written last into a cached directory: one without it is a half-built leftover and is built again."""


def _run(args: list[str | Path], **kwargs) -> None:
    subprocess.run([str(a) for a in args], check=True, **kwargs)


def _digest(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _fresh(directory: Path) -> bool:
    """Whether `directory` was built completely; otherwise it is emptied for a new build."""
    if (directory / COMPLETE).exists():
        return True
    if directory.exists():
        _make_writable(directory)
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return False


def _make_writable(directory: Path) -> None:
    for path in (directory, *directory.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)


# The app's source ------------------------------------------------------------------------------------------------


def app_checkout() -> Path:
    """The app's `backend/` and `frontend/` at the pinned commit (only those: the repository's figures are large)."""
    pin = versions().app_startup.application
    marker = CHECKOUT / ".kiban-checked-out"
    if marker.exists() and marker.read_text() == pin.commit:
        return CHECKOUT
    if not (CHECKOUT / ".git").exists():
        if CHECKOUT.exists():
            shutil.rmtree(CHECKOUT)
        _run(["git", "clone", "--quiet", "--no-checkout", pin.repository, CHECKOUT])
    known = subprocess.run(["git", "-C", CHECKOUT, "cat-file", "-e", f"{pin.commit}^{{commit}}"], capture_output=True)
    if known.returncode != 0:
        _run(["git", "-C", CHECKOUT, "fetch", "--quiet", "origin"])
    for part in ("backend", "frontend"):
        shutil.rmtree(CHECKOUT / part, ignore_errors=True)
    _run(["git", "-C", CHECKOUT, "checkout", "--quiet", pin.commit, "--", "backend", "frontend"])
    # HEAD at the commit too (detached, nothing else checked out): `make lock-face-api APP=.tools/faceapi` dates the
    # lock by it.
    _run(["git", "-C", CHECKOUT, "update-ref", "--no-deref", "HEAD", pin.commit])
    marker.write_text(pin.commit)
    return CHECKOUT


# Python of the image's minor -------------------------------------------------------------------------------------


def image_python_minor() -> str:
    """The backend image's Python (`3.12`), as its Dockerfile's site-packages path names it."""
    (minor,) = set(re.findall(r"/lib/python(3\.\d+)/site-packages", (BACKEND_IMAGE / "Dockerfile").read_text()))
    return minor


def _is_python(candidate: str | Path, minor: str) -> bool:
    try:
        done = subprocess.run(
            [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == minor


def find_python(minor: str) -> Path:
    """An interpreter of `minor` as the machine offers it: `python3.X` on PATH, one uv finds (uv's own installs
    included), or one of pyenv's versions."""
    candidates: list[str | Path] = []
    if on_path := shutil.which(f"python{minor}"):
        candidates.append(on_path)
    found = subprocess.run(
        [str(UV), "python", "find", "--no-python-downloads", minor], capture_output=True, text=True
    )
    if found.returncode == 0 and found.stdout.strip():
        candidates.append(found.stdout.strip())
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted((pyenv_root / "versions").glob(f"{minor}.*/bin/python{minor}"), reverse=True)
    for candidate in candidates:
        if _is_python(candidate, minor):
            return Path(candidate)
    raise SystemExit(
        f"the app's start-up tests need Python {minor} (the backend image's) and this machine offers none: "
        f"install it with `{UV.relative_to(ROOT)} python install {minor}`"
    )


# The backend -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """The backend image's environment, built here."""

    venv: Path
    """The image's /opt/venv."""
    workdir: Path
    """The image's WORKDIR (/faceapi): the app's files, its baked migrations and the model."""
    image_workdir: str
    """The WORKDIR's path in the image."""
    image_env: dict[str, str]
    """The Dockerfile's ENV, with its venv's bin first on PATH as here."""


def _dockerfile(path: Path) -> list[str]:
    """A Dockerfile's instructions, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _instructions(path: Path, keyword: str, stage: int = -1) -> list[str]:
    """The arguments of every `keyword` instruction of one build stage (default: the last)."""
    stages: list[list[str]] = []
    for line in _dockerfile(path):
        if line.startswith("FROM "):
            stages.append([])
        elif stages:
            stages[-1].append(line)
    return [line.split(None, 1)[1] for line in stages[stage] if line.split(None, 1)[0] == keyword]


def _env_instruction(arguments: str) -> dict[str, str]:
    return {name: value.strip('"') for name, value in re.findall(r'(\w+)=("[^"]*"|\S*)', arguments)}


def _backend_key(lock: bytes, minor: str, embedding_dim: int) -> str:
    copied = sorted(p for p in BACKEND_IMAGE.iterdir() if p.is_file())
    return _digest(
        lock, minor, str(embedding_dim), versions().app_startup.application.commit, versions().app_startup.onnx,
        *(p.name.encode() + p.read_bytes() for p in copied),
    )


def backend(embedding_dim: int) -> Backend:
    """The backend's environment as images/face-api/Dockerfile builds it, with a stand-in model of `embedding_dim`."""
    dockerfile = BACKEND_IMAGE / "Dockerfile"
    lock = (BACKEND_IMAGE / "requirements.lock").read_bytes()
    minor = image_python_minor()
    (image_workdir,) = _instructions(dockerfile, "WORKDIR")
    image_env: dict[str, str] = {}
    for arguments in _instructions(dockerfile, "ENV"):
        image_env.update(_env_instruction(arguments))
    (image_venv,) = set(re.findall(r"PATH=(/\S+)/bin:\$PATH", " ".join(_instructions(dockerfile, "ENV"))))
    root = TOOLS / "face-api" / _backend_key(lock, minor, embedding_dim)
    venv, workdir = root / "venv", root / "workdir"
    env = {**image_env, "PATH": f"{venv / 'bin'}:/usr/bin:/bin"}
    built = Backend(venv=venv, workdir=workdir, image_workdir=image_workdir, image_env=env)
    if _fresh(root):
        return built
    source = app_checkout()
    python = find_python(minor)
    _run([UV, "venv", "--quiet", "--python", python, venv])
    uv_pip = [UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python"]
    # RUN pip install --require-hashes -r requirements.lock
    _run([*uv_pip, "--require-hashes", "-r", BACKEND_IMAGE / "requirements.lock"])
    site_packages = venv / "lib" / f"python{minor}" / "site-packages"
    workdir.mkdir()

    def local(image_path: str) -> Path:
        """Where an image path lands here: the venv's or the WORKDIR's counterpart."""
        path = image_path if image_path.startswith("/") else f"{image_workdir}/{image_path}"
        for image_dir, here in ((f"{image_venv}/lib/python{minor}/site-packages", site_packages), (image_workdir, workdir)):
            if path == image_dir or path.startswith(image_dir + "/"):
                return here / path[len(image_dir):].lstrip("/")
        raise AssertionError(f"images/face-api/Dockerfile writes {image_path}, which the start-up tests do not map")

    for arguments in _instructions(dockerfile, "COPY"):
        words = arguments.split()
        from_kiban = words[0] == "--from=kiban"
        *sources, destination = words[1:] if from_kiban else words
        if destination.startswith("/tmp/"):
            continue  # build-time inputs, run from kiban's folder below
        for src in sources:
            origin = (BACKEND_IMAGE if from_kiban else source) / src
            target = local(destination)
            if destination.endswith("/") and not origin.is_dir():
                target = target / origin.name
            if origin.is_dir():
                shutil.copytree(origin, target)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)
    for arguments in _instructions(dockerfile, "ADD"):
        # The release asset (the real weights) cannot be downloaded here: a model with its interface instead.
        destination = arguments.split()[-1]
        _run([helpers().python, ROOT / "tools" / "stand_in_model.py", local(destination), str(embedding_dim)])
        local(destination).chmod(0o644)
    # RUN pip install --no-deps --no-build-isolation -e . && pip check && python /tmp/bake_migrations.py
    _run([*uv_pip, "--no-deps", "--no-build-isolation", "--editable", workdir])
    _run([UV, "pip", "check", "--quiet", "--python", venv / "bin" / "python"])
    if any("python /tmp/bake_migrations.py" in step for step in _instructions(dockerfile, "RUN")):
        _run([venv / "bin" / "python", BACKEND_IMAGE / "bake_migrations.py"], cwd=workdir, env=env)
    (root / COMPLETE).write_text("")
    return built


# Helpers: Milvus Lite and onnx -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Helpers:
    python: Path
    milvus_lite: Path
    """`milvus-lite server --data-dir D --host H --port P`."""


def locked_version(package: str) -> str:
    """`package`'s version in the backend's lock."""
    (version,) = re.findall(rf"^{re.escape(package)}==(\S+)", (BACKEND_IMAGE / "requirements.lock").read_text(), re.M)
    return version


def helpers() -> Helpers:
    """Milvus Lite, with the backend's pymilvus (its gRPC protocol), and onnx, in a venv of their own."""
    pins = versions().app_startup
    wanted = [f"milvus-lite=={pins.milvus_lite}", f"pymilvus=={locked_version('pymilvus')}", f"onnx=={pins.onnx}"]
    minor = image_python_minor()
    root = TOOLS / "app-startup-helpers" / _digest(minor, *wanted)
    built = Helpers(python=root / "bin" / "python", milvus_lite=root / "bin" / "milvus-lite")
    if _fresh(root):
        return built
    _run([UV, "venv", "--quiet", "--allow-existing", "--python", find_python(minor), root])
    _run([UV, "pip", "install", "--quiet", "--python", built.python, *wanted])
    (root / COMPLETE).write_text("")
    return built


# The frontend ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrontendBuild:
    dist: Path
    """What the image copies to nginx's root."""
    stand_in_models: tuple[str, ...]
    """The face-model files the build requires, written here as stand-ins (served under `/models/`)."""


def frontend() -> FrontendBuild:
    """The frontend's build stage of images/face-frontend/Dockerfile, run here."""
    dockerfile = FRONTEND_IMAGE / "Dockerfile"
    pnpm = versions().image_builds.face_frontend["PNPM_VERSION"]
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    commit = versions().app_startup.application.commit
    # What the build stage reads (nginx.conf is the serving stage's).
    root = TOOLS / "face-frontend" / _digest(
        commit, pnpm, node, dockerfile.read_bytes(), (FRONTEND_IMAGE / "package.json").read_bytes()
    )
    work = root / "app"
    build_steps = _instructions(dockerfile, "RUN", stage=0)
    (download,) = [step for step in build_steps if "sha256sum -c" in step and "public/models/" in step]
    models = tuple(re.findall(r"-O public/models/(\S+)", download))
    built = FrontendBuild(dist=work / "dist", stand_in_models=models)
    if _fresh(root):
        return built
    source = app_checkout() / "frontend"
    work.mkdir()
    env = {**os.environ}
    for arguments in _instructions(dockerfile, "COPY", stage=0):
        words = arguments.split()
        from_kiban = words[0] == "--from=kiban"
        src, _destination = words[1:] if from_kiban else words
        origin = FRONTEND_IMAGE / src if from_kiban else source.parent / src
        if origin.is_dir():
            shutil.copytree(origin, work, dirs_exist_ok=True)
        else:
            shutil.copy2(origin, work / origin.name)
    for arguments in _instructions(dockerfile, "ENV", stage=0):
        env.update(_env_instruction(arguments))
    run_pnpm = ["npx", "--yes", f"pnpm@{pnpm}"]
    # RUN npm install -g pnpm@PNPM_VERSION && pnpm install --frozen-lockfile
    _run([*run_pnpm, "install", "--frozen-lockfile", "--reporter=silent"], cwd=work, env=env)
    # The Dockerfile downloads the face models from GitHub, which the tests cannot reach: stand-ins of the same names.
    (work / "public" / "models").mkdir(parents=True, exist_ok=True)
    for name in models:
        content = '[{"weights": [], "paths": ["' + name.replace("-weights_manifest.json", "-shard1") + '"]}]'
        stand_in = content.encode() if name.endswith(".json") else bytes(range(256)) * 16
        (work / "public" / "models" / name).write_bytes(stand_in)
    _run([*run_pnpm, "run", "build"], cwd=work, env=env, stdout=subprocess.DEVNULL)
    (root / COMPLETE).write_text("")
    return built


def main() -> int:
    """Fetch and install what `make test-startup` runs (the builds themselves happen in its fixtures, once)."""
    print(f"app checkout: {app_checkout()}")
    print(f"Python {image_python_minor()}: {find_python(image_python_minor())}")
    print(f"helpers: {helpers().python.parent.parent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
