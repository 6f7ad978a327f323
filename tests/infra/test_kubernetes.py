"""Kubernetes: the manifests under infra/k8s agree with the image, the app and each other."""

from __future__ import annotations

from typing import Any

from tests.infra.manifests import (
    K8S,
    SECRET_TEMPLATE,
    container,
    k8s_object,
    k8s_objects,
    load_yaml,
    option_value,
    pod_spec,
    yaml_documents,
)

NAME_LABEL = "app.kubernetes.io/name"
PLACEHOLDER = "REPLACE_ME"


def named_port(workload: dict[str, Any], port: int | str) -> int:
    """A container port given by number or by name."""
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container(workload)["ports"] if p["name"] == port]
    return number


def test_every_kubernetes_object_carries_the_name_label():
    for obj in k8s_objects():
        assert obj["metadata"]["labels"][NAME_LABEL] == "carbonhub", obj["metadata"]["name"]
        template = obj.get("spec", {}).get("template")
        if template is not None:
            assert template["metadata"]["labels"][NAME_LABEL] == "carbonhub"


def test_deployment_runs_two_replicas(deployment):
    assert deployment["spec"]["replicas"] == 2


def test_pods_run_as_the_images_non_root_user(deployment, migration_job, runtime_stage):
    uid = int(runtime_stage.last("USER").split(":")[0])
    for workload in (deployment, migration_job):
        security = pod_spec(workload)["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == uid


def test_root_filesystem_is_read_only_with_a_writable_tmp(deployment, migration_job):
    for workload in (deployment, migration_job):
        spec, main_container = pod_spec(workload), container(workload)
        assert main_container["securityContext"]["readOnlyRootFilesystem"] is True
        (tmp,) = [m for m in main_container["volumeMounts"] if m["mountPath"] == "/tmp"]
        (volume,) = [v for v in spec["volumes"] if v["name"] == tmp["name"]]
        assert "emptyDir" in volume


def test_deployment_sets_resource_requests_and_limits(deployment):
    resources = container(deployment)["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[kind]), kind


def test_liveness_and_startup_ask_healthz_and_readiness_asks_readyz(deployment):
    probes = container(deployment)
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert probes["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_probe_paths_answer_200_on_a_migrated_database(deployment, app_client):
    probes = container(deployment)
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        path = probes[probe]["httpGet"]["path"]
        assert app_client.get(path).status_code == 200, path


def test_probes_ask_the_container_port(deployment, runtime_stage):
    probes = container(deployment)
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        port = named_port(deployment, probes[probe]["httpGet"]["port"])
        assert [str(port)] == runtime_stage.values("EXPOSE"), probe


def test_container_port_is_the_service_target_port_and_the_image_port(deployment, runtime_stage):
    (service_port,) = k8s_object("Service")["spec"]["ports"]
    target = named_port(deployment, service_port["targetPort"])
    (container_port,) = container(deployment)["ports"]
    assert target == container_port["containerPort"]
    assert [str(target)] == runtime_stage.values("EXPOSE")
    assert option_value(container(deployment)["args"], "--port") == str(target)


def test_service_selects_the_deployments_pods(deployment):
    selector = k8s_object("Service")["spec"]["selector"]
    assert selector == deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_hpa_scales_the_deployment_by_name(deployment):
    target = k8s_object("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
    assert target["name"] == deployment["metadata"]["name"]


def test_hpa_scales_from_2_to_10_on_cpu():
    hpa = k8s_object("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]


def test_migration_job_retries_a_bounded_number_of_times(migration_job):
    assert 0 < migration_job["spec"]["backoffLimit"] <= 6
    assert pod_spec(migration_job)["restartPolicy"] in {"Never", "OnFailure"}


def test_migration_job_runs_the_deployments_image(deployment, migration_job):
    assert container(migration_job)["image"] == container(deployment)["image"]


def test_workloads_read_the_configmap_and_secret_that_exist(deployment, migration_job):
    config_maps = {o["metadata"]["name"] for o in k8s_objects() if o["kind"] == "ConfigMap"}
    secrets = {o["metadata"]["name"] for o in yaml_documents(SECRET_TEMPLATE)}
    for workload in (deployment, migration_job):
        sources = container(workload)["envFrom"]
        assert {s["configMapRef"]["name"] for s in sources if "configMapRef" in s} <= config_maps
        assert {s["secretRef"]["name"] for s in sources if "secretRef" in s} <= secrets
        assert len(sources) == 2


def test_signing_key_file_is_the_mounted_secret_key(deployment):
    config = k8s_object("ConfigMap")["data"]["CARBONHUB_SIGNING_KEY_FILE"]
    mounts = {m["name"]: m["mountPath"] for m in container(deployment)["volumeMounts"]}
    templates = {s["metadata"]["name"]: s["stringData"] for s in yaml_documents(SECRET_TEMPLATE)}
    files = {
        f"{mounts[v['name']]}/{key}"
        for v in pod_spec(deployment)["volumes"]
        if "secret" in v
        for key in templates[v["secret"]["secretName"]]
    }
    assert config in files


def test_secret_template_holds_only_placeholders():
    for secret in yaml_documents(SECRET_TEMPLATE):
        assert secret["kind"] == "Secret"
        assert "data" not in secret  # base64 values could hide real keys
        assert set(secret["stringData"].values()) == {PLACEHOLDER}


def test_kustomization_lists_existing_files_but_not_the_secret_template():
    resources = load_yaml(K8S / "kustomization.yaml")["resources"]
    assert all((K8S / name).is_file() for name in resources)
    assert SECRET_TEMPLATE.name not in resources
