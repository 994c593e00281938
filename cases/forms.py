"""Page forms. The intake form turns what was typed into a ClientFacts and a CaseOpening with the parsers
of cases.inputs (the API's serializers use the same ones); the services then check only the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.inputs import (
    ARREARS_MAX,
    CLIENT_FIELDS,
    HOUSEHOLD_MAX,
    HOUSEHOLD_MIN,
    SITUATION_FIELDS,
    CaseOpening,
    ClientSituation,
    case_opening_fields_parse,
    client_facts_build,
    client_fields_parse,
    client_situation_build,
)
from cases.models import (
    CaseResult,
    Channel,
    ConsentMethod,
    DebtStatus,
    EmploymentStatus,
    Gender,
    IncomeBand,
)
from cases.needs import NEEDS
from cases.validation import NAME_MAX, NOTE_MAX
from centers.models import CenterKind, Region
from core.errors import InvalidInput

REQUIRED_FOR_NEW_CLIENT = ("name", "birth_date", "phone")


class IntakeForm(forms.Form):
    client = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    name = forms.CharField(label=_("Name"), required=False, max_length=NAME_MAX)
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    phone = forms.CharField(
        label=_("Phone"), required=False, max_length=30, widget=forms.TextInput(attrs={"type": "tel"})
    )
    rrn = forms.CharField(
        label=_("Resident registration number (optional)"),
        required=False,
        max_length=14,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "000000-0000000"}),
    )
    gender = forms.ChoiceField(label=_("Gender"), required=False, choices=[("", "—"), *Gender.choices])
    region = forms.ModelChoiceField(
        label=_("Region"), required=False, queryset=Region.objects.order_by("code"), to_field_name="code"
    )
    # The ranges are checked by cases.inputs; the widget only tells the browser.
    household_size = forms.IntegerField(
        label=_("Household size"),
        required=False,
        widget=forms.NumberInput(attrs={"min": HOUSEHOLD_MIN, "max": HOUSEHOLD_MAX}),
    )
    income_band = forms.ChoiceField(label=_("Income"), choices=IncomeBand.choices, initial=IncomeBand.UNKNOWN)
    employment_status = forms.ChoiceField(
        label=_("Employment status"), choices=EmploymentStatus.choices, initial=EmploymentStatus.UNKNOWN
    )
    debt_status = forms.ChoiceField(label=_("Debt status"), choices=DebtStatus.choices, initial=DebtStatus.UNKNOWN)
    arrears_days = forms.IntegerField(
        label=_("Days in arrears"), required=False, widget=forms.NumberInput(attrs={"min": 0, "max": ARREARS_MAX})
    )
    collection_consent = forms.BooleanField(
        label=_("The client consents to the collection and use of personal data"), required=False
    )
    referral_kinds = forms.MultipleChoiceField(
        label=_("The client consents to provision to these organizations"),
        required=False,
        choices=CenterKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    consent_method = forms.ChoiceField(
        label=_("Consent given on"),
        choices=ConsentMethod.choices,
        initial=ConsentMethod.PAPER,
        widget=forms.RadioSelect,
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.WALK_IN)
    needs = forms.MultipleChoiceField(
        label=_("Needs"),
        required=False,
        choices=[(n.code, n.label) for n in NEEDS],
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client_facts: ClientSituation | None = None
        self.case_opening: CaseOpening | None = None

    def _add_input_errors(self, errors: list[InvalidInput]) -> None:
        for exc in errors:
            self.add_error(exc.field if exc.field in self.fields else None, exc.detail)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("collection_consent"):
            self.add_error(
                "collection_consent", _("The client must consent to the collection of personal data to be served.")
            )
        existing = bool(data.get("client"))
        fields = SITUATION_FIELDS if existing else CLIENT_FIELDS
        if not existing:
            for field in REQUIRED_FOR_NEW_CLIENT:
                if field not in self.errors and data.get(field) in (None, ""):
                    self.add_error(field, _("This field is required."))
        shaped = [f for f in fields if f not in self.errors]
        values, errors = client_fields_parse({f: data.get(f) for f in shaped}, shaped)
        self._add_input_errors(errors)
        if not any(f in self.errors for f in fields):
            try:
                self.client_facts = client_situation_build(values) if existing else client_facts_build(values)
            except InvalidInput as exc:
                self._add_input_errors([exc])
        opening_raw = {
            "channel": data.get("channel"),
            "needs": [{"code": code} for code in data.get("needs", [])],
            "note": data.get("note", ""),
        }
        values, errors = case_opening_fields_parse(opening_raw)
        errors = [e for e in errors if e.field not in self.errors]
        self._add_input_errors(errors)
        if not errors and not any(f in self.errors for f in ("channel", "needs", "note")):
            self.case_opening = CaseOpening(**values)
        return data


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 3}))


class CloseForm(forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=CaseResult.choices)
    note = forms.CharField(
        label=_("Closing note"), required=False, max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class ConsentForm(forms.Form):
    organization_kinds = forms.MultipleChoiceField(
        label=_("Organizations"), choices=CenterKind.choices, widget=forms.CheckboxSelectMultiple
    )
    method = forms.ChoiceField(label=_("Consent given on"), choices=ConsentMethod.choices, initial=ConsentMethod.PAPER)
