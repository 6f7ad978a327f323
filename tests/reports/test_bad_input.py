"""Bad input to a report gets a clear GraphQL error with a code, never an internal error and
never a traceback.

Already covered elsewhere, not repeated here: malformed periods, an unknown region and an
unknown methodology on ``Region.report`` (tests/graphql/test_errors.py); which principal kinds
may ask for reports at all (tests/graphql/test_access_matrix.py). This adds periods outside
the data, unknown methodologies on the ESG report and in ``compare``, a region outside an
agency client's subtree and another enterprise's report (both answered as not found), and the
same answers over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.fixtures.actors import event
from tests.fixtures.graphql import GraphQLResult, agency, enterprise_client
from tests.reports.conftest import HAIDIAN
from tests.reports.queries import ESG_REPORT, REGION_REPORT, variables

OUTSIDE_THE_DATA = ["1999", "1999-07", "2031", "2031-07-15"]
UNKNOWN_METHODOLOGIES = ["made-up-2023", "beijing-green-life-2023@9.9"]


@pytest.fixture
def employer(
    make_enterprise: Callable[..., str], make_person: Callable[..., str], post: Callable[..., Any]
) -> str:
    """An employer in Haidian whose three employees (also residents sharing) ride in July."""
    employer = make_enterprise()
    staff = [make_person(HAIDIAN, employer=employer) for _ in range(3)]
    post(
        event(person, "transport.bike_share", "2023-07-03 00:30", km="3", duration_s=900)
        for person in staff
    )
    return employer


def assert_error(result: GraphQLResult, code: str, *named: str) -> str:
    """Exactly one error, with the code, naming what was wrong; returns its message."""
    assert result.codes == [code], result.errors
    message = result.errors[0][0]
    for name in named:
        assert name in message, f"{name!r} not named in {message!r}"
    assert "Traceback" not in message
    return message


# --- periods outside the data -------------------------------------------------------------------


@pytest.mark.parametrize("period", OUTSIDE_THE_DATA)
def test_given_a_period_outside_the_data_when_a_region_report_is_asked_then_it_says_there_is_no_data(
    employer: str, ask_region: Callable[..., GraphQLResult], period: str
) -> None:
    message = assert_error(ask_region(HAIDIAN, period), "BAD_USER_INPUT", period)

    assert "no data" in message.lower()


@pytest.mark.parametrize("period", OUTSIDE_THE_DATA)
def test_given_a_period_outside_the_data_when_an_esg_report_is_asked_then_it_says_there_is_no_data(
    employer: str, ask_esg: Callable[..., GraphQLResult], period: str
) -> None:
    message = assert_error(ask_esg(employer, period), "BAD_USER_INPUT", period)

    assert "no data" in message.lower()


# --- unknown methodologies -----------------------------------------------------------------------


@pytest.mark.parametrize("methodology", UNKNOWN_METHODOLOGIES)
def test_given_an_unknown_methodology_when_an_esg_report_is_asked_then_it_is_named(
    employer: str, ask_esg: Callable[..., GraphQLResult], methodology: str
) -> None:
    assert_error(ask_esg(employer, "2023-07", methodology), "NOT_FOUND", methodology)


@pytest.mark.parametrize("methodology", UNKNOWN_METHODOLOGIES)
def test_given_an_unknown_methodology_among_the_compared_when_a_region_report_compares_then_it_is_named(
    employer: str, ask_region: Callable[..., GraphQLResult], methodology: str
) -> None:
    result = ask_region(
        HAIDIAN, "2023-07", compare=("beijing-green-life-2023", methodology), series=False
    )

    assert_error(result, "NOT_FOUND", methodology)


@pytest.mark.parametrize("methodology", UNKNOWN_METHODOLOGIES)
def test_given_an_unknown_methodology_among_the_compared_when_an_esg_report_compares_then_it_is_named(
    employer: str, ask_esg: Callable[..., GraphQLResult], methodology: str
) -> None:
    result = ask_esg(
        employer, "2023-07", compare=("beijing-green-life-2023", methodology), series=False
    )

    assert_error(result, "NOT_FOUND", methodology)


# --- outside the client's reach: not found --------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("110000", id="its city"),
        pytest.param("110105", id="a sibling district"),
        pytest.param("120000", id="another city"),
        pytest.param("310101", id="a district of another city"),
    ],
)
def test_given_an_agency_bound_to_haidian_when_it_asks_a_region_outside_its_subtree_then_it_is_not_found(
    employer: str, ask_region: Callable[..., GraphQLResult], code: str
) -> None:
    result = ask_region(code, "2023-07", principal=agency(HAIDIAN))

    assert_error(result, "NOT_FOUND", code)
    assert result.data is None or result.data["region"] is None


def test_given_an_agency_bound_to_haidian_when_it_asks_haidian_then_it_gets_the_report(
    employer: str, region_report: Callable[..., dict[str, Any]]
) -> None:
    report = region_report(HAIDIAN, "2023-07", principal=agency(HAIDIAN))

    assert report["participants"] == 3


def test_given_an_enterprise_client_when_it_asks_another_enterprises_esg_report_then_it_is_not_found(
    employer: str, make_enterprise: Callable[..., str], ask_esg: Callable[..., GraphQLResult]
) -> None:
    other = make_enterprise(name="别家公司")

    result = ask_esg(employer, "2023-07", principal=enterprise_client(other))

    assert_error(result, "NOT_FOUND", employer)
    assert result.data is None or result.data["enterprise"] is None


# --- over HTTP: a GraphQL error, not a server error -----------------------------------------------

HTTP_CASES = [
    pytest.param(REGION_REPORT, {"code": HAIDIAN, "period": "1999"}, id="region, 1999"),
    pytest.param(ESG_REPORT, {"period": "2031"}, id="esg, 2031"),
    pytest.param(
        REGION_REPORT,
        {"code": HAIDIAN, "period": None, "start": "2023-07-01", "end": "2023-07-30"},
        id="region, from-to not a partition",
    ),
    pytest.param(
        ESG_REPORT, {"period": "2023-07", "methodology": "made-up-2023"}, id="esg, methodology"
    ),
    pytest.param(
        REGION_REPORT,
        {"code": HAIDIAN, "period": "2023-07", "compare": ("made-up-2023",)},
        id="region, compare",
    ),
    pytest.param(REGION_REPORT, {"code": HAIDIAN, "period": "2023-13"}, id="region, 2023-13"),
]


@pytest.mark.parametrize(("operation", "asked"), HTTP_CASES)
def test_given_bad_report_input_over_http_then_the_answer_is_a_graphql_error_without_a_traceback(
    employer: str, client: TestClient, operation: str, asked: dict[str, Any]
) -> None:
    asked = dict(asked)  # the parameter is shared by both backends' runs
    code = asked.pop("code", None)
    values = variables(
        period=asked.get("period"),
        methodology=asked.get("methodology"),
        compare=tuple(asked.get("compare", ())),
        series=False,
        start=asked.get("start"),
        end=asked.get("end"),
    )
    values.update({"code": code} if code else {"id": employer})

    response = client.post("/graphql", json={"query": operation, "variables": values})

    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    assert errors
    assert all(e["extensions"]["code"] != "INTERNAL_SERVER_ERROR" for e in errors), errors
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
