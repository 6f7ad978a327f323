"""One machine: infra/compose.yaml, nginx.conf, otel-collector.yaml and .env.example."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from tests.infra.manifests import (
    COMPOSE,
    DOCKERFILE,
    INFRA,
    REPO,
    dotenv_names,
    interpolate,
    option_value,
    required_variables,
)

# --- compose --------------------------------------------------------------------------------


def test_compose_build_context_and_dockerfile_exist(services):
    for service in (s for s in services.values() if "build" in s):
        context = (COMPOSE.parent / service["build"]["context"]).resolve()
        assert context == REPO
        assert (context / service["build"]["dockerfile"]).resolve() == DOCKERFILE


def test_compose_bind_mounts_exist(services):
    mounts = [v for s in services.values() for v in s.get("volumes", []) if v.startswith(".")]
    assert mounts
    for mount in mounts:
        assert (COMPOSE.parent / mount.split(":")[0]).is_file(), mount


def test_compose_runs_two_replicas_of_carbonhub(services):
    assert services["carbonhub"]["deploy"]["replicas"] == 2


def test_carbonhub_starts_after_postgres_redis_and_the_migration(services):
    depends = services["carbonhub"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_every_awaited_service_has_a_healthcheck(services, runtime_stage):
    awaited = {
        name
        for service in services.values()
        for name, dep in service.get("depends_on", {}).items()
        if dep["condition"] == "service_healthy"
    }
    for name in awaited:
        from_image = "build" in services[name] and runtime_stage.values("HEALTHCHECK")
        assert "healthcheck" in services[name] or from_image, name


def test_compose_database_url_is_the_postgres_service(services):
    environment = services["carbonhub"]["environment"]
    url = make_url(interpolate(environment["CARBONHUB_DATABASE_URL"], {"POSTGRES_PASSWORD": "x"}))
    postgres = services["postgres"]["environment"]
    assert (url.drivername, url.host, url.port) == ("postgresql+psycopg", "postgres", 5432)
    assert (url.username, url.database) == (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"])


def test_compose_signing_key_file_is_a_mounted_secret(compose, services):
    service = services["carbonhub"]
    path = service["environment"]["CARBONHUB_SIGNING_KEY_FILE"]
    mounted = {f"/run/secrets/{name}" for name in service["secrets"] if name in compose["secrets"]}
    assert path in mounted


def test_env_example_declares_every_variable_compose_requires():
    required = required_variables(COMPOSE.read_text(encoding="utf-8"))
    assert required
    assert required <= dotenv_names(INFRA / ".env.example")


def test_load_balancer_publishes_8000_and_proxies_to_the_replicas(services):
    nginx = (INFRA / "nginx.conf").read_text(encoding="utf-8")
    port = option_value(services["carbonhub"]["command"], "--port")
    assert "8000:8000" in services["lb"]["ports"]
    assert f"server carbonhub:{port} " in nginx
    assert "listen 8000;" in nginx


def test_telemetry_goes_to_the_collectors_otlp_http_port(services, collector):
    endpoint = urlsplit(services["carbonhub"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"])
    receiver = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert endpoint.hostname in services
    assert endpoint.hostname == "otel-collector"
    assert str(endpoint.port) == receiver.rsplit(":", 1)[1]


def test_collector_config_is_mounted_where_the_image_reads_it(services):
    assert (
        "./otel-collector.yaml:/etc/otelcol-contrib/config.yaml:ro"
        in services["otel-collector"]["volumes"]
    )


# --- collector ------------------------------------------------------------------------------


def test_collector_pipelines_name_only_defined_components(collector):
    for name, pipeline in collector["service"]["pipelines"].items():
        for section in ("receivers", "processors", "exporters"):
            undefined = set(pipeline.get(section, [])) - set(collector.get(section, {}))
            assert not undefined, f"{name} {section}: {undefined}"
    assert set(collector["service"]["extensions"]) <= set(collector["extensions"])


def test_collector_has_traces_metrics_and_logs_pipelines(collector):
    assert set(collector["service"]["pipelines"]) == {"traces", "metrics", "logs"}


def test_collector_receives_otlp_on_all_interfaces(collector):
    protocols = collector["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"


def test_every_pipeline_drops_person_attributes(collector):
    droppers = {
        name
        for name, processor in collector["processors"].items()
        if any(
            a["action"] == "delete" and "enduser" in a.get("pattern", "")
            for a in processor.get("actions", [])
        )
    }
    assert droppers
    for pipeline in collector["service"]["pipelines"].values():
        assert droppers & set(pipeline["processors"])


def test_traces_are_exported_to_jaeger_over_otlp_grpc(collector, services):
    exporters = collector["service"]["pipelines"]["traces"]["exporters"]
    endpoints = {collector["exporters"][e].get("endpoint") for e in exporters if "otlp" in e}
    assert "jaeger:4317" in endpoints
    assert "jaeger" in services
