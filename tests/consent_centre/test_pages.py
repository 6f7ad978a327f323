"""The consent centre over HTTP: every page in both languages, requests, revoking, receipts,
verification, the access log, export and erasure."""

from __future__ import annotations

import asyncio
import base64
import json
import re

import pytest
from sqlalchemy import select

from carbonhub.auth import Scope
from carbonhub.consent.centre_text import TEXT
from carbonhub.db import read_session
from carbonhub.models import CitizenAccount, ConsentGrant, ConsentReceipt, Person
from carbonhub.resolvers.context import Context
from carbonhub.schema import schema
from tests.consent_centre.conftest import CATEGORIES, ask_employees, csrf_of, submit
from tests.fixtures.graphql import citizen

PAGES = ["/consent/", "/consent/receipts", "/consent/access-log", "/consent/data", "/consent/erase"]


def grants_of(hub, person_id: str) -> list[ConsentGrant]:
    with read_session(hub.engine) as session:
        return list(
            session.scalars(select(ConsentGrant).where(ConsentGrant.person_id == person_id))
        )


def test_the_catalogue_has_the_same_strings_in_both_languages() -> None:
    assert set(TEXT["zh-CN"]) == set(TEXT["en"])


@pytest.mark.parametrize("path", [*PAGES, "/consent/consents/c_x/revoke"])
def test_without_a_session_every_page_sends_the_citizen_to_sign_in(centre, path) -> None:
    response = centre.get(path)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login?next=%2Fconsent%2F")


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    ("accept", "lang", "says"),
    [("zh-CN,zh;q=0.9", "zh-CN", "授权中心"), ("en-GB,en;q=0.8", "en", "Consent centre")],
)
def test_each_page_renders_in_the_language_the_browser_asks_for(
    centre, employee, path, accept, lang, says
) -> None:
    response = centre.get(path, headers={"accept-language": accept})

    assert response.status_code == 200, response.text
    assert f'<html lang="{lang}">' in response.text
    assert says in response.text
    assert '<meta name="viewport"' in response.text
    assert response.headers["content-language"] == lang
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_the_language_switch_is_remembered_in_a_cookie(centre, employee) -> None:
    switched = centre.get("/consent/?lang=zh-CN", headers={"accept-language": "en"})
    assert '<html lang="zh-CN">' in switched.text
    assert centre.cookies.get("carbonhub_lang") == "zh-CN"

    later = centre.get("/consent/receipts", headers={"accept-language": "en"})
    assert '<html lang="zh-CN">' in later.text
    assert "授权凭证" in later.text


def test_every_input_has_a_label(centre, centre_hub, employee) -> None:
    ask_employees(centre_hub, employee.enterprise_id)
    for path in ["/consent/", "/consent/erase", "/receipts/verify"]:
        page = centre.get(path).text
        for match in re.finditer(r"<(input|textarea|select)\b([^>]*)>", page):
            attributes = match.group(2)
            if 'type="hidden"' in attributes:
                continue
            ident = re.search(r'id="([^"]+)"', attributes)
            assert ident, match.group(0)
            assert f'for="{ident.group(1)}"' in page, match.group(0)


# -- enterprise requests ---------------------------------------------------------------------


def test_a_pending_request_is_shown_with_its_categories_by_name(centre, centre_hub, employee):
    ask_employees(centre_hub, employee.enterprise_id)

    page = centre.get("/consent/")

    assert "京绿科技有限公司 asks for ESG reporting" in page.text
    assert 'value="transport" checked' in page.text
    assert "Transport" in page.text or "transport" in page.text
    assert "Approve sharing the ticked categories" in page.text


def test_approving_with_a_category_unticked_grants_only_the_ticked_ones(
    centre, centre_hub, employee
) -> None:
    request_id = ask_employees(centre_hub, employee.enterprise_id)

    response = submit(
        centre,
        "/consent/",
        f"/consent/requests/{request_id}",
        {"decision": "approve", "categories": ["transport"]},
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/consent/?done=approved"
    (grant,) = grants_of(centre_hub, employee.person_id)
    assert grant.categories == "transport"
    assert grant.recipient_id == employee.enterprise_id
    page = centre.get(response.headers["location"])
    assert "You approved the request" in page.text
    assert "Consents in force" in page.text
    assert "✓ In force" in page.text
    assert "No requests are waiting." in page.text


def test_denying_a_request_grants_nothing_and_it_stops_waiting(centre, centre_hub, employee):
    request_id = ask_employees(centre_hub, employee.enterprise_id)

    response = submit(
        centre,
        "/consent/",
        f"/consent/requests/{request_id}",
        {"decision": "deny", "categories": list(CATEGORIES)},
    )

    assert response.status_code == 303
    assert grants_of(centre_hub, employee.person_id) == []
    assert "No requests are waiting." in centre.get("/consent/").text


def test_approving_with_nothing_ticked_is_refused_with_a_message(centre, centre_hub, employee):
    request_id = ask_employees(centre_hub, employee.enterprise_id)

    response = submit(
        centre, "/consent/", f"/consent/requests/{request_id}", {"decision": "approve"}
    )

    assert response.status_code == 400
    assert "Tick at least one category" in response.text
    assert grants_of(centre_hub, employee.person_id) == []


def test_answering_twice_says_so_and_does_not_fail(centre, centre_hub, employee) -> None:
    request_id = ask_employees(centre_hub, employee.enterprise_id)
    submit(centre, "/consent/", f"/consent/requests/{request_id}", {"decision": "deny"})

    again = submit(centre, "/consent/", f"/consent/requests/{request_id}", {"decision": "deny"})

    assert again.status_code == 400
    assert "answered already" in again.text


def test_a_post_without_the_csrf_token_is_refused(centre, centre_hub, employee) -> None:
    request_id = ask_employees(centre_hub, employee.enterprise_id)

    response = centre.post(f"/consent/requests/{request_id}", data={"decision": "approve"})

    assert response.status_code == 403
    assert grants_of(centre_hub, employee.person_id) == []


# -- regional statistics and revoking --------------------------------------------------------


def test_the_regional_consent_is_offered_then_given(centre, centre_hub, employee) -> None:
    page = centre.get("/consent/")
    assert "You have not allowed" in page.text

    response = submit(centre, "/consent/", "/consent/regional", {"categories": ["transport"]})

    assert response.status_code == 303
    (grant,) = grants_of(centre_hub, employee.person_id)
    assert (grant.purpose, grant.recipient_id, grant.categories) == (
        "regional_statistics",
        "110000",
        "transport",
    )
    assert "You allow" in centre.get("/consent/").text


def test_revoking_asks_for_confirmation_then_ends_the_consent_and_twice_is_harmless(
    centre, centre_hub, employee
) -> None:
    submit(centre, "/consent/", "/consent/regional", {"categories": list(CATEGORIES)})
    (grant,) = grants_of(centre_hub, employee.person_id)
    path = f"/consent/consents/{grant.id}/revoke"
    assert f'href="{path}"' in centre.get("/consent/").text

    confirm = centre.get(path)
    assert confirm.status_code == 200
    assert "Yes, revoke it" in confirm.text

    first = submit(centre, path, path, {})
    assert first.status_code == 303
    assert first.headers["location"] == "/consent/?done=revoked"
    second = submit(centre, "/consent/", path, {})
    assert second.status_code == 303

    overview = centre.get("/consent/")
    assert "✕ Revoked" in overview.text
    assert "you revoked it" in overview.text
    assert "there is nothing to revoke" in centre.get(path).text
    with read_session(centre_hub.engine) as session:
        receipts = session.scalars(
            select(ConsentReceipt).where(ConsentReceipt.consent_id == grant.id)
        ).all()
    assert len(receipts) == 2  # granted, revoked: the second revocation changed nothing


def test_another_citizens_consent_cannot_be_revoked(centre, centre_hub, employee, make_person):
    other = make_person()
    (grant,) = grants_of(centre_hub, other)
    path = f"/consent/consents/{grant.id}/revoke"

    assert centre.get(path).status_code == 404
    response = submit(centre, "/consent/", path, {})
    assert response.status_code == 404
    assert "There is no such item." in response.text


# -- receipts --------------------------------------------------------------------------------


def _one_receipt(centre, centre_hub, employee) -> tuple[str, str]:
    submit(centre, "/consent/", "/consent/regional", {"categories": ["transport"]})
    with read_session(centre_hub.engine) as session:
        receipt = session.scalars(
            select(ConsentReceipt).where(ConsentReceipt.person_id == employee.person_id)
        ).one()
    return receipt.id, receipt.jws


def test_receipts_are_listed_and_download_as_jws_files(centre, centre_hub, employee) -> None:
    receipt_id, jws = _one_receipt(centre, centre_hub, employee)

    page = centre.get("/consent/receipts")
    assert f'href="/consent/receipts/{receipt_id}.jws"' in page.text
    assert 'href="/.well-known/jwks.json"' in page.text
    download = centre.get(f"/consent/receipts/{receipt_id}.jws")

    assert download.status_code == 200
    assert download.text == jws
    assert download.headers["content-type"].startswith("application/jose")
    assert f'filename="{receipt_id}.jws"' in download.headers["content-disposition"]


def test_a_downloaded_receipt_verifies_as_json_and_as_a_page(centre, centre_hub, employee):
    receipt_id, _ = _one_receipt(centre, centre_hub, employee)
    jws = centre.get(f"/consent/receipts/{receipt_id}.jws").text

    as_json = centre.post("/receipts/verify", content=jws, headers={"accept": "application/json"})
    assert as_json.status_code == 200
    assert as_json.json()["valid"] is True
    assert as_json.json()["claims"]["piiPrincipalId"] == employee.person_id

    as_page = submit(centre, "/receipts/verify", "/receipts/verify", {"receipt": jws})
    assert as_page.status_code == 200
    assert "Valid: issued by this hub" in as_page.text


def test_an_altered_receipt_fails_saying_why(centre, centre_hub, employee) -> None:
    _, jws = _one_receipt(centre, centre_hub, employee)
    header, payload, signature = jws.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["consent"]["categories"] = ["transport", "food", "housing"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    altered = f"{header}.{forged}.{signature}"

    response = centre.post(
        "/receipts/verify", content=altered, headers={"accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "valid": False,
        "reason": "the signature does not match: the receipt was altered",
    }
    page = submit(centre, "/receipts/verify", "/receipts/verify", {"receipt": altered})
    assert page.status_code == 400
    assert "the receipt was altered" in page.text


@pytest.mark.parametrize(
    "body", ["", "not a jws", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.!!!.???", "x" * 70_000]
)
def test_verifying_garbage_is_a_400_never_a_500(centre, body) -> None:
    response = centre.post("/receipts/verify", content=body, headers={"accept": "application/json"})

    assert response.status_code == 400
    assert response.json()["valid"] is False
    assert response.json()["reason"]


def test_the_verify_form_renders_for_anyone_in_both_languages(centre) -> None:
    assert "Verify a consent receipt" in centre.get("/receipts/verify").text
    zh = centre.get("/receipts/verify", headers={"accept-language": "zh-CN"})
    assert "验证授权凭证" in zh.text


def test_someone_elses_receipt_is_not_downloadable(centre, centre_hub, employee, make_person):
    other = make_person()
    with read_session(centre_hub.engine) as session:
        receipt = session.scalars(
            select(ConsentReceipt).where(ConsentReceipt.person_id == other)
        ).first()
    assert receipt is not None

    assert centre.get(f"/consent/receipts/{receipt.id}.jws").status_code == 404


# -- access log, export, erasure -------------------------------------------------------------


def test_the_access_log_lists_reads_of_the_citizens_data(centre, centre_hub, employee) -> None:
    principal = citizen(employee.person_id, Scope.LEDGER_READ)
    result = asyncio.run(
        schema.execute(
            '{ me { ledger(period: "2023") { totalReductionKg } } }',
            context_value=Context(hub=centre_hub, principal=principal),
        )
    )
    assert not result.errors, result.errors

    page = centre.get("/consent/access-log")

    assert page.status_code == 200
    assert "Nobody has read" not in page.text
    assert '<dd class="persons">1</dd>' in page.text


def test_export_downloads_json_with_the_citizens_consents(centre, centre_hub, employee) -> None:
    submit(centre, "/consent/", "/consent/regional", {"categories": ["transport"]})

    response = centre.get("/consent/export.json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    data = response.json()
    assert data["person"]["id"] == employee.person_id
    assert "regional_statistics" in json.dumps(data["consents"])


def test_erasure_needs_the_person_id_typed_in(centre, centre_hub, employee) -> None:
    wrong = submit(centre, "/consent/erase", "/consent/erase", {"person_id": "p_nobody"})

    assert wrong.status_code == 400
    assert "That is not your person id" in wrong.text
    with read_session(centre_hub.engine) as session:
        assert session.get(Person, employee.person_id) is not None


def test_erasure_with_the_typed_id_erases_and_signs_out(centre, centre_hub, employee) -> None:
    response = submit(centre, "/consent/erase", "/consent/erase", {"person_id": employee.person_id})

    assert response.status_code == 303
    assert response.headers["location"] == "/consent/erased"
    with read_session(centre_hub.engine) as session:
        assert session.get(Person, employee.person_id) is None
    assert "Your data is erased" in centre.get("/consent/erased").text
    assert centre.get("/consent/").status_code == 303


def test_registration_offers_the_regional_consent_unticked(centre, centre_hub) -> None:
    form = centre.get("/account/register").text
    assert 'name="regional_statistics" value="yes"' in form
    assert (
        'value="yes"\n' not in form
        or "checked" not in form.split('name="regional_statistics"')[1][:80]
    )

    token = csrf_of(centre, "/account/register")
    base = {
        "csrf_token": token,
        "password": "green commute 2023",
        "password_confirmation": "green commute 2023",
        "home_region": "110108",
    }
    centre.post("/account/register", data={**base, "username": "no.thanks"})
    centre.cookies.clear()
    token = csrf_of(centre, "/account/register")
    centre.post(
        "/account/register",
        data={**base, "csrf_token": token, "username": "yes.please", "regional_statistics": "yes"},
    )

    with read_session(centre_hub.engine) as session:
        accounts = {a.username: a.person_id for a in session.scalars(select(CitizenAccount)).all()}
    assert grants_of(centre_hub, accounts["no.thanks"]) == []
    (grant,) = grants_of(centre_hub, accounts["yes.please"])
    assert grant.purpose == "regional_statistics"


def test_given_a_receipts_policy_url_then_the_notice_it_names_is_published(hub, make_person):
    from starlette.testclient import TestClient

    from carbonhub.app import create_app
    from carbonhub.consent.notices import notice_for

    notice = notice_for("esg_reporting")
    with TestClient(create_app(hub=hub), base_url="https://127.0.0.1") as client:
        page = client.get(f"/consent/notices/{notice.version}")
        missing = client.get("/consent/notices/no-such-version")

    assert page.status_code == 200
    assert notice.sha256("en") in page.text
    assert missing.status_code == 404
