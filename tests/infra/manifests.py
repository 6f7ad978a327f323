"""Reading the deployment files under ``infra/``: YAML documents, the Dockerfile, env names."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
K8S = INFRA / "k8s"
COMPOSE = INFRA / "compose.yaml"
DOCKERFILE = INFRA / "Dockerfile"
COLLECTOR = INFRA / "otel-collector.yaml"
SECRET_TEMPLATE = K8S / "secret.template.yaml"

# ${NAME}, ${NAME:-default}, ${NAME:?message}: docker compose interpolation
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::?(?P<kind>[-?])(?P<rest>[^}]*))?\}")


def yaml_files() -> list[Path]:
    """Every YAML file of ours under infra/ (not the installed Node packages')."""
    return sorted(
        p
        for p in INFRA.rglob("*")
        if p.suffix in {".yaml", ".yml"} and "node_modules" not in p.parts
    )


def yaml_documents(path: Path) -> list[Any]:
    """The non-empty documents of a YAML file."""
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def load_yaml(path: Path) -> dict[str, Any]:
    """The single document of a YAML file."""
    (document,) = yaml_documents(path)
    return document


def k8s_objects() -> list[dict[str, Any]]:
    """Every Kubernetes object under infra/k8s (the kustomization is not one)."""
    return [
        doc
        for path in sorted(K8S.glob("*.yaml"))
        for doc in yaml_documents(path)
        if doc.get("kind") != "Kustomization"
    ]


def k8s_object(kind: str, path: Path | None = None) -> dict[str, Any]:
    """The one object of ``kind`` (in ``path`` when given)."""
    docs = yaml_documents(path) if path else k8s_objects()
    (found,) = [doc for doc in docs if doc.get("kind") == kind]
    return found


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment or Job."""
    return workload["spec"]["template"]["spec"]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    """The single container of a Deployment or Job."""
    (only,) = pod_spec(workload)["containers"]
    return only


def env_names(environment: dict[str, Any] | list[str] | None) -> set[str]:
    """Variable names of a compose ``environment`` (mapping or ``NAME=value`` list)."""
    if environment is None:
        return set()
    if isinstance(environment, dict):
        return set(environment)
    return {item.split("=", 1)[0] for item in environment}


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Resolve compose ``${...}`` references the way ``docker compose config`` would."""

    def resolve(match: re.Match[str]) -> str:
        name, kind = match["name"], match["kind"]
        if name in variables:
            return variables[name]
        return match["rest"] if kind == "-" else ""

    return INTERPOLATION.sub(resolve, value)


def required_variables(text: str) -> set[str]:
    """Names compose refuses to run without (``${NAME:?message}``)."""
    return {m["name"] for m in INTERPOLATION.finditer(text) if m["kind"] == "?"}


def dotenv_names(path: Path) -> set[str]:
    """Variable names assigned in a ``.env`` file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {
        line.split("=", 1)[0].strip() for line in lines if "=" in line and not line.startswith("#")
    }


@dataclass(frozen=True)
class Stage:
    """One ``FROM`` stage of a Dockerfile: its base, name and instructions in order."""

    base: str
    name: str | None
    instructions: tuple[tuple[str, str], ...]

    def values(self, keyword: str) -> list[str]:
        """The arguments of every ``keyword`` instruction."""
        return [value for key, value in self.instructions if key == keyword]

    def last(self, keyword: str) -> str:
        """The argument of the last ``keyword`` instruction (the one in effect)."""
        return self.values(keyword)[-1]


def dockerfile_stages(path: Path = DOCKERFILE) -> list[Stage]:
    """The stages of a Dockerfile, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, value = line.partition(" ")
        keyword, value = keyword.upper(), value.strip()
        if keyword == "FROM":
            base, _, name = value.partition(" AS ")
            stages.append(Stage(base.strip(), name.strip() or None, ()))
        elif stages:
            last = stages[-1]
            stages[-1] = Stage(last.base, last.name, (*last.instructions, (keyword, value)))
    return stages


def exec_form(value: str) -> list[str]:
    """The argument list of an exec-form instruction (``["a", "b"]``)."""
    words = json.loads(value)
    assert isinstance(words, list), f"not exec form: {value}"
    return words


def healthcheck_command(value: str) -> list[str]:
    """The exec-form command of a ``HEALTHCHECK [options] CMD [...]`` instruction."""
    _, _, command = value.partition("CMD ")
    return exec_form(command)


def dockerfile_env_names(stage: Stage) -> set[str]:
    """Names set by the stage's ``ENV NAME=value ...`` instructions."""
    return {m for value in stage.values("ENV") for m in re.findall(r"(\w+)=", value)}


def option_value(args: list[str], option: str) -> str:
    """The value following ``option`` in an argument list."""
    return args[args.index(option) + 1]
