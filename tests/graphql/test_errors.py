"""Bad input gets a clear GraphQL error, never a traceback."""

import pytest

PERIOD_REPORT = '{ region(code: "110000") { report(period: "%s") { participants } } }'


@pytest.mark.parametrize("period", ["2023-13", "2023-Q5", "last week", "2023-07-31..2023-07-01"])
def test_a_malformed_period_names_the_accepted_forms(gql, hub, period):
    result = gql(PERIOD_REPORT % period)
    assert result.codes == ["BAD_USER_INPUT"]
    assert "2023-Q3" in result.errors[0][0] or "before it starts" in result.errors[0][0]


def test_an_unknown_region_is_named(gql, hub):
    result = gql('{ region(code: "999999") { name } }')
    assert result.codes == ["NOT_FOUND"]
    assert "999999" in result.errors[0][0]


def test_an_unknown_methodology_lists_the_registered_ones(gql, hub):
    result = gql('{ region(code: "110000") { report(methodology: "made-up") { participants } } }')
    assert result.codes == ["NOT_FOUND"]
    assert "beijing-green-life-2023@1.0" in result.errors[0][0]


def test_a_syntax_error_is_a_graphql_error(gql, hub):
    result = gql("{ region(code: ")
    assert result.data is None
    assert result.errors
    assert "Syntax Error" in result.errors[0][0]


def test_a_syntax_error_carries_the_parse_failed_code(gql, hub):
    result = gql("{ region(code: ")
    assert result.codes == ["GRAPHQL_PARSE_FAILED"]


def test_a_document_the_schema_refuses_carries_the_validation_failed_code(gql, hub):
    result = gql("{ regoin { code } }")
    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]


def test_field_suggestions_are_not_given(gql, hub):
    result = gql("{ regoin { code } }")
    assert result.errors
    assert "Did you mean" not in result.errors[0][0]


def test_queries_deeper_than_the_limit_are_refused(gql, hub):
    deep = '{ region(code: "110108") { ' + "parent { " * 12 + "code" + " }" * 12 + " } }"
    result = gql(deep)
    assert result.errors
    assert "exceeds maximum operation depth" in result.errors[0][0]


def test_the_quarantine_is_for_operators_only(gql, hub):
    from carbonhub.auth import Principal

    assert gql(
        "{ quarantinedEvents { edges { node { reason } } } }", principal=Principal.anonymous()
    ).codes == ["UNAUTHENTICATED"]


def test_an_operator_sees_quarantined_events_with_their_reasons(gql, hub, make_person, post):
    from tests.fixtures.actors import event

    person = make_person()
    post(
        [
            event(person, "transport.teleport", "2023-07-01 01:00", km="3"),
            {"source": "csv", "garbage": True},
        ]
    )
    data = gql(
        "{ quarantinedEvents(first: 10) { edges { node { source reason detail payload } } hasNextPage } }"
    ).ok()
    reasons = sorted(e["node"]["reason"] for e in data["quarantinedEvents"]["edges"])
    assert reasons == ["malformed", "unknown_behaviour"]
