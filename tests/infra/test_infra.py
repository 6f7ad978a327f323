"""The deployment files under infra/ agree with the code: every file parses, every command they
run is a real CLI command and every CARBONHUB_* variable is a setting.

Docker and Kubernetes are not available to the test suite, so every check here and in the other
modules of this package is static: the files are parsed and compared with the CLI, the settings
object, the app's routes and each other.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from carbonhub.cli import main
from carbonhub.settings import Settings
from tests.infra.manifests import (
    COMPOSE,
    INFRA,
    container,
    dockerfile_env_names,
    dockerfile_stages,
    dotenv_names,
    env_names,
    exec_form,
    k8s_object,
    k8s_objects,
    load_yaml,
    yaml_documents,
    yaml_files,
)


def cli_invocations() -> list[list[str]]:
    """Every argument list the deployment files hand to the ``carbonhub`` entry point."""
    services = load_yaml(COMPOSE)["services"]
    k8s_args = [container(k8s_object(kind)).get("args", []) for kind in ("Deployment", "Job")]
    compose_args = [s["command"] for s in services.values() if "build" in s and "command" in s]
    image_cmd = exec_form(dockerfile_stages()[-1].last("CMD"))
    return [image_cmd, *compose_args, *k8s_args]


def deployment_env_names() -> set[str]:
    """Every variable name the compose file, Kubernetes objects, image and .env example set."""
    services = load_yaml(COMPOSE)["services"].values()
    names = {n for service in services for n in env_names(service.get("environment"))}
    for obj in k8s_objects():
        names |= set(obj.get("data", {})) | set(obj.get("stringData", {}))
    for kind in ("Deployment", "Job"):
        names |= {env["name"] for env in container(k8s_object(kind)).get("env", [])}
    names |= dockerfile_env_names(dockerfile_stages()[-1])
    return names | dotenv_names(INFRA / ".env.example")


def settings_env_names() -> set[str]:
    """``CARBONHUB_<FIELD>`` of every field of the settings object."""
    return {f"CARBONHUB_{field.upper()}" for field in Settings.model_fields}


# --- every file -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_every_yaml_file_parses(path: Path):
    assert yaml_documents(path), f"{path} holds no YAML document"


# --- the CLI the files call -----------------------------------------------------------------


@pytest.mark.parametrize("args", cli_invocations(), ids=" ".join)
def test_every_command_the_files_run_is_a_real_cli_command(args: list[str]):
    # given the words before the options: the (sub)command path
    path = args[: next((i for i, word in enumerate(args) if word.startswith("-")), len(args))]
    # when asking for help with the same arguments (unknown options make click exit 2)
    result = CliRunner().invoke(main, [*args, "--help"])
    # then click resolved that very command
    assert result.exit_code == 0, result.output
    assert f"{' '.join(path)} [OPTIONS]" in result.output


def readme_commands() -> list[list[str]]:
    """The ``carbonhub ...`` commands infra/README.md names in backticks."""
    text = (INFRA / "README.md").read_text(encoding="utf-8")
    return [match.split() for match in re.findall(r"`carbonhub ([a-z][a-z -]*)`", text)]


def test_readme_names_commands():
    assert readme_commands()


@pytest.mark.parametrize("words", readme_commands(), ids=" ".join)
def test_readme_names_only_real_cli_commands(words: list[str]):
    result = CliRunner().invoke(main, [*words, "--help"])
    assert result.exit_code == 0, result.output
    assert f"{' '.join(words)} [OPTIONS]" in result.output


def test_migrations_run_as_db_upgrade_in_compose_and_kubernetes(services, migration_job):
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert container(migration_job)["args"] == ["db", "upgrade"]


# --- settings -------------------------------------------------------------------------------


def test_every_carbonhub_variable_is_a_setting():
    # Settings ignores unknown CARBONHUB_* variables, so a misspelt one would be silently lost
    used = {name for name in deployment_env_names() if name.startswith("CARBONHUB_")}
    assert used - settings_env_names() == set()
