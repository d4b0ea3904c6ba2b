# kiban: the commands a person (and CI) runs. Only `python3` has to be on the machine beforehand.
#   make test                 create the locked environments, lint, then run the whole test suite
#   make render STACK=dev     run the program offline under Pulumi's mock monitor, write rendered/<stack>/
#   make bench                the prod render against a floor program (medians, ratio), written to rendered/
#   make preview STACK=prod   `pulumi preview` with the real CLI (needs the Pulumi CLI and a login)
#   make up STACK=prod        `pulumi up` with the real CLI

STACK ?= dev
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/uv/bin/uv
# uv and the project venv first on PATH, so the Pulumi CLI's `toolchain: uv` finds the same uv.
export PATH := $(CURDIR)/$(TOOLS)/uv/bin:$(PATH)

.PHONY: test render bench preview up lock env scanners tools clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

env: $(UV)
	$(UV) sync --locked --quiet

scanners: $(UV)
	$(UV) sync --locked --quiet --project tools/scanners

# The real command-line tools the tests run offline (helm, kubectl, ...), pinned in versions.json.
tools: $(UV)
	$(TOOLS)/uv/bin/python tools/install_tools.py

test: env scanners tools
	$(UV) run --locked --no-sync ruff check .
	$(UV) run --locked --no-sync pytest

render: env tools
	$(UV) run --locked --no-sync python -m tools.render --stack $(STACK)

bench: env
	$(UV) run --locked --no-sync python -m tools.bench

preview: env
	pulumi preview --stack $(STACK) --diff

up: env
	pulumi up --stack $(STACK)

# Re-resolve both lock files after changing a pin in pyproject.toml or tools/scanners/pyproject.toml.
lock: $(UV)
	$(UV) lock
	$(UV) lock --project tools/scanners

clean:
	rm -rf $(TOOLS) .venv tools/scanners/.venv rendered
