"""The image: infra/Dockerfile and the build context it sees."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch

from tests.infra.manifests import (
    DOCKERFILE,
    INFRA,
    REPO,
    dockerfile_stages,
    exec_form,
    healthcheck_command,
    option_value,
)


def dockerignore_excludes(path: str) -> bool:
    """Whether infra/Dockerfile.dockerignore keeps ``path`` (relative to the repo) out."""
    lines = (INFRA / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch(prefix, pattern) for pattern in patterns for prefix in prefixes)


def test_image_builds_on_python_slim(runtime_stage):
    assert runtime_stage.base == "python:3.12-slim"


def test_image_installs_a_wheel_from_the_builder_stage_without_dev_extras(runtime_stage):
    builder = dockerfile_stages()[0]
    assert any(v.startswith(f"--from={builder.name} ") for v in runtime_stage.values("COPY"))
    assert "wheel" in " ".join(builder.values("RUN"))
    assert "[dev]" not in DOCKERFILE.read_text(encoding="utf-8")


def test_image_runs_as_a_numeric_non_root_user(runtime_stage):
    # numeric, so that Kubernetes' runAsNonRoot can verify it without a runAsUser
    uid = runtime_stage.last("USER").split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0


def test_image_entrypoint_is_the_console_script_of_the_package(runtime_stage):
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert exec_form(runtime_stage.last("ENTRYPOINT")) == ["carbonhub"]
    assert "carbonhub" in scripts["scripts"]


def test_image_healthcheck_asks_healthz_with_python(runtime_stage):
    command = healthcheck_command(runtime_stage.last("HEALTHCHECK"))
    assert command[0] == "python"
    assert "http://127.0.0.1:8000/healthz" in command[-1]


def test_image_exposes_the_port_its_command_serves_on(runtime_stage):
    cmd = exec_form(runtime_stage.last("CMD"))
    assert runtime_stage.values("EXPOSE") == [option_value(cmd, "--port")]
    assert option_value(cmd, "--host") == "0.0.0.0"


def test_build_context_keeps_out_what_the_image_does_not_need():
    for path in (".venv", ".git", "tests/test_app.py", "bench/posting.py", "carbonhub.db"):
        assert dockerignore_excludes(path), path


def test_build_context_keeps_what_the_builder_copies():
    copied = [
        word
        for stage in dockerfile_stages()
        for value in stage.values("COPY")
        if not value.startswith("--from")
        for word in value.split()[:-1]
    ]
    assert copied
    for path in copied:
        assert (REPO / path).exists(), path
        assert not dockerignore_excludes(path), path
