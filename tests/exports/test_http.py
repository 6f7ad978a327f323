"""``GET /reports/...`` with real access tokens: statuses, formats, and JSON equal to GraphQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from carbonhub.auth.clients import NewClient
from carbonhub.auth.scopes import ClientKind
from carbonhub.exports import COLUMNS, ESG_REPORT_DOCUMENT, REGION_REPORT_DOCUMENT
from tests.exports.conftest import LONELY_DISTRICT, PERIOD, Tokens, bearer, token_of
from tests.fixtures.actors import event
from tests.graphql.conftest import World

BEIJING = "/reports/region/110000"


def get(http: TestClient, path: str, token: str | None, **params: str) -> Any:
    """GET ``path`` with ``params`` as the bearer of ``token`` (no header when None)."""
    return http.get(path, params=params, headers=bearer(token) if token else {})


def esg_path(world: World) -> str:
    return f"/reports/enterprise/{world.employer}"


# -- who may read what -------------------------------------------------------------------------


def test_given_no_token_when_a_report_is_asked_then_401_with_a_bearer_challenge(
    http: TestClient, tokens: Tokens
) -> None:
    answer = get(http, BEIJING, None, period=PERIOD)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_given_a_bad_token_when_a_report_is_asked_then_401_naming_the_invalid_token(
    http: TestClient, tokens: Tokens
) -> None:
    answer = get(http, BEIJING, "not-a-token", period=PERIOD)
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


def test_given_an_agency_of_haidian_when_it_asks_for_beijing_then_404(
    http: TestClient, tokens: Tokens
) -> None:
    answer = get(http, BEIJING, tokens.haidian, period=PERIOD)
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "Traceback" not in answer.text


def test_given_an_agency_of_beijing_when_it_asks_for_haidian_then_it_gets_the_report(
    http: TestClient, tokens: Tokens
) -> None:
    answer = get(http, "/reports/region/110108", tokens.beijing, period=PERIOD, format="json")
    assert answer.status_code == 200
    assert answer.json()["region"]["report"]["participants"] == 4


def test_given_another_enterprise_client_when_it_asks_for_the_esg_report_then_404(
    http: TestClient, tokens: Tokens, world: World
) -> None:
    answer = get(http, esg_path(world), tokens.other_enterprise, period=PERIOD)
    assert answer.status_code == 404


def test_given_an_enterprise_client_when_it_asks_for_a_region_then_403(
    http: TestClient, tokens: Tokens
) -> None:
    answer = get(http, BEIJING, tokens.employer, period=PERIOD)
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        pytest.param("/reports/region/999999", {"period": PERIOD}, id="unknown-region"),
        pytest.param("/reports/enterprise/e_nobody", {"period": PERIOD}, id="unknown-enterprise"),
    ],
)
def test_given_an_unknown_subject_when_asked_then_404(
    http: TestClient, tokens: Tokens, path: str, params: dict[str, str]
) -> None:
    token = tokens.beijing if "region" in path else tokens.employer
    assert get(http, path, token, **params).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"period": "2023-13"}, id="malformed-period"),
        pytest.param({"period": "2023-07-01..2023-07-05"}, id="not-a-predefined-period"),
        pytest.param({"period": PERIOD, "methodology": "no-such-method"}, id="methodology"),
        pytest.param({"period": PERIOD, "compare": "no-such-method"}, id="compared"),
        pytest.param({"period": PERIOD, "format": "xlsx"}, id="format"),
    ],
)
def test_given_bad_input_when_a_report_is_asked_then_400_with_a_message(
    http: TestClient, tokens: Tokens, params: dict[str, str]
) -> None:
    answer = get(http, BEIJING, tokens.beijing, **params)
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"]


# -- formats -----------------------------------------------------------------------------------


def graphql_data(http: TestClient, token: str, document: str, variables: dict[str, Any]) -> Any:
    """The ``data`` of ``document`` run through ``/graphql`` as the bearer of ``token``."""
    answer = http.post(
        "/graphql", json={"query": document, "variables": variables}, headers=bearer(token)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


def test_given_a_region_when_exported_as_json_then_it_is_the_graphql_data(
    http: TestClient, tokens: Tokens
) -> None:
    answer = get(
        http, BEIJING, tokens.beijing, period=PERIOD, format="json", compare="beijing-handbook-2022"
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="region-110000-2023-07.json"'
    )
    variables = {
        "code": "110000",
        "period": PERIOD,
        "compare": ["beijing-handbook-2022"],
        "withCompare": True,
        "daily": True,
    }
    assert answer.json() == graphql_data(http, tokens.beijing, REGION_REPORT_DOCUMENT, variables)


def test_given_an_enterprise_when_exported_as_json_then_it_is_the_graphql_data(
    http: TestClient, tokens: Tokens, world: World
) -> None:
    answer = get(http, esg_path(world), tokens.employer, period=PERIOD, format="json")
    assert answer.status_code == 200
    variables = {"id": world.employer, "period": PERIOD, "daily": True}
    exported = answer.json()
    assert exported == graphql_data(http, tokens.employer, ESG_REPORT_DOCUMENT, variables)
    esg = exported["enterprise"]["esgReport"]
    assert esg["participants"] == 3
    assert esg["employees"] == 3
    assert [p["label"] for p in esg["byMonth"]] == [PERIOD]
    assert len(esg["byDay"]) == 31


def test_given_a_quarter_when_exported_then_there_is_no_daily_series(
    http: TestClient, tokens: Tokens
) -> None:
    answer = get(http, BEIJING, tokens.beijing, period="2023-Q3", format="json")
    report = answer.json()["region"]["report"]
    assert [p["label"] for p in report["byMonth"]] == ["2023-07", "2023-08", "2023-09"]
    assert "byDay" not in report


def csv_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def test_given_a_region_when_exported_as_csv_then_rows_follow_the_documented_columns(
    http: TestClient, tokens: Tokens
) -> None:
    answer = get(http, BEIJING, tokens.beijing, period=PERIOD, format="csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].endswith('filename="region-110000-2023-07.csv"')
    header, rows = csv_rows(answer.text)
    assert header == list(COLUMNS)
    report = get(http, BEIJING, tokens.beijing, period=PERIOD, format="json").json()["region"][
        "report"
    ]
    total = next(r for r in rows if r["section"] == "total")
    assert Decimal(total["reduction_kg"]) == Decimal(report["totalReductionKg"])
    assert total["methodology"] == "beijing-green-life-2023@1.0"
    categories = {r["key"]: r for r in rows if r["section"] == "category"}
    for c in report["byCategory"]:
        assert categories[c["category"]["code"]]["reduction_kg"] == (c["reductionKg"] or "")
    assert {r["period"] for r in rows} == {PERIOD}


def test_given_a_suppressed_cell_when_exported_as_csv_then_its_figures_are_empty(
    http: TestClient, tokens: Tokens, report_world: World
) -> None:
    _, rows = csv_rows(get(http, BEIJING, tokens.beijing, period=PERIOD, format="csv").text)
    children = {r["key"]: r for r in rows if r["section"] == "child_region"}
    lonely = children[LONELY_DISTRICT]
    assert lonely["suppressed"] == "true"
    assert lonely["reduction_kg"] == lonely["participants"] == lonely["entries"] == ""
    released = [r for r in children.values() if r["suppressed"] == "false"]
    assert all(r["reduction_kg"] != "" for r in released)


def test_given_an_enterprise_when_exported_as_csv_then_scope3_is_gross_emissions(
    http: TestClient, tokens: Tokens, world: World
) -> None:
    answer = get(http, esg_path(world), tokens.employer, period=PERIOD, format="csv")
    _, rows = csv_rows(answer.text)
    total = next(r for r in rows if r["section"] == "total")
    assert (total["employees"], total["participants"]) == ("3", "3")
    scope3 = {r["key"]: r for r in rows if r["section"] == "scope3"}
    assert set(scope3) == {"category6", "category7"}
    assert all(r["reduction_kg"] == "" and r["note"] for r in scope3.values())


def test_given_a_region_when_served_as_html_then_the_page_uses_the_hubs_own_scripts(
    http: TestClient, tokens: Tokens
) -> None:
    answer = get(http, BEIJING, tokens.beijing, period=PERIOD, format="html")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "content-disposition" not in answer.headers
    assert 'src="/reports/static/plotly.min.js' in answer.text
    assert "https://" not in answer.text.split("<main>")[0]  # nothing from another host
    script = http.get("/reports/static/plotly.min.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "plotly.js" in script.text[:200]
    assert http.get("/reports/static/widgetbundle.js").status_code == 404


def test_given_an_enterprise_below_k_when_exported_then_the_page_says_only_that(
    http: TestClient,
    make_enterprise: Callable[..., str],
    make_person: Callable[..., str],
    make_client: Callable[..., NewClient],
    post: Callable[..., Any],
) -> None:
    small = make_enterprise("小绿工作室", region="110108")
    lonely = make_person("110108", employer=small)
    post([event(lonely, "transport.bike_share", "2023-07-03 00:30", km="4", duration_s=1200)])
    token = token_of(http, make_client(ClientKind.ENTERPRISE, enterprise_id=small))
    page = get(http, f"/reports/enterprise/{small}", token, period=PERIOD, format="html")
    assert page.status_code == 200, page.text
    assert 'id="nothing-released"' in page.text
    assert 'id="total-reduction-kg" class="suppressed"' in page.text
    _, rows = csv_rows(
        get(http, f"/reports/enterprise/{small}", token, period=PERIOD, format="csv").text
    )
    total = next(r for r in rows if r["section"] == "total")
    assert (total["suppressed"], total["reduction_kg"], total["participants"]) == ("true", "", "")
