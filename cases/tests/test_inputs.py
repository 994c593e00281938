"""Client and case input is parsed once, by the same parsers, whether it comes from the page or the API."""

import datetime as dt

import pytest
from django.urls import reverse

from cases.forms import IntakeForm
from cases.inputs import CaseOpening, ClientFacts, case_opening_parse, client_facts_parse
from cases.models import Client
from cases.tests.factories import valid_rrn
from core.errors import InvalidInput

BIRTH = dt.date(1990, 1, 1)
RRN = valid_rrn(BIRTH)


def test_parsed_facts_are_normalised_typed_and_never_show_the_rrn(db):
    facts = client_facts_parse(
        {"name": "  김  민준 ", "birth_date": BIRTH, "phone": "+82 10 1234 5678", "rrn": RRN, "arrears_days": 30}
    )
    assert isinstance(facts, ClientFacts)
    assert (facts.name, facts.phone, facts.rrn) == ("김 민준", "010-1234-5678", RRN.replace("-", ""))
    assert facts.gender == "M"  # from the RRN when not given
    assert facts.debt_status == "arrears"  # days in arrears say so when the counselor did not
    assert RRN.replace("-", "") not in repr(facts) and RRN not in repr(facts)
    with pytest.raises(AttributeError):
        facts.name = "다른이름"  # type: ignore[misc]


def test_case_opening_fills_each_needs_domain_from_the_catalog():
    opening = case_opening_parse({"channel": "phone", "needs": [{"code": "debt_adjustment", "note": " 급함 "}]})
    assert opening == CaseOpening(channel="phone", needs=opening.needs, note="")
    assert [(n.domain, n.code, n.note) for n in opening.needs] == [("finance", "debt_adjustment", "급함")]


def test_an_rrn_that_contradicts_the_birth_date_is_an_rrn_error(db):
    with pytest.raises(InvalidInput) as err:
        client_facts_parse({"name": "김민준", "birth_date": dt.date(1991, 1, 1), "phone": "010-1234-5678", "rrn": RRN})
    assert err.value.field == "rrn" and "1234" not in err.value.detail


def test_the_page_form_and_the_api_refuse_a_bad_name_with_the_same_message(counselor, client, api_for):
    bad = {"name": "홍길동1", "birth_date": "1990-01-01", "phone": "010-1234-5678"}
    form = IntakeForm(
        {
            **bad,
            "collection_consent": "on",
            "consent_method": "paper",
            "channel": "walk_in",
            "income_band": "unknown",
            "employment_status": "unknown",
            "debt_status": "unknown",
        }
    )
    assert not form.is_valid() and form.client_facts is None
    api = api_for(counselor).post("/api/v1/clients/", bad, format="json")
    assert api.status_code == 400
    assert api.json()["name"] == form.errors["name"]
    client.force_login(counselor)
    page = client.post(reverse("cases:intake"), {**bad, "collection_consent": "on"})
    assert page.status_code == 400 and form.errors["name"][0] in page.content.decode()
    assert Client.objects.count() == 0
