"""Page forms. They check the shape of the input and reuse the services' field rules for early errors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.crypto import RrnError, rrn_normalize
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
from cases.validation import NOTE_MAX, birth_date_validate, name_validate, phone_normalize
from centers.models import CenterKind
from core.errors import InvalidInput

CLIENT_FACTS = ["gender", "household_size", "income_band", "employment_status", "debt_status", "arrears_days"]
IDENTITY = ["name", "birth_date", "phone", "rrn"]


class IntakeForm(forms.Form):
    client = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    name = forms.CharField(label=_("Name"), required=False, max_length=50)
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
    household_size = forms.IntegerField(label=_("Household size"), required=False, min_value=1, max_value=20)
    income_band = forms.ChoiceField(label=_("Income"), choices=IncomeBand.choices, initial=IncomeBand.UNKNOWN)
    employment_status = forms.ChoiceField(
        label=_("Employment status"), choices=EmploymentStatus.choices, initial=EmploymentStatus.UNKNOWN
    )
    debt_status = forms.ChoiceField(label=_("Debt status"), choices=DebtStatus.choices, initial=DebtStatus.UNKNOWN)
    arrears_days = forms.IntegerField(label=_("Days in arrears"), required=False, min_value=0, max_value=36500)
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

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("collection_consent"):
            self.add_error(
                "collection_consent", _("The client must consent to the collection of personal data to be served.")
            )
        if not data.get("client"):
            for field, check in (
                ("name", name_validate),
                ("phone", phone_normalize),
                ("birth_date", birth_date_validate),
            ):
                if field in self.errors:
                    continue
                value = data.get(field)
                if value in (None, ""):
                    self.add_error(field, _("This field is required."))
                    continue
                try:
                    data[field] = check(value)
                except InvalidInput as exc:
                    self.add_error(field, exc.detail)
            rrn = data.get("rrn")
            if rrn and "rrn" not in self.errors:
                try:
                    rrn_normalize(rrn)
                except RrnError as exc:
                    self.add_error("rrn", str(exc))
        return data

    def client_data(self, *, existing: bool) -> dict[str, Any]:
        data = self.cleaned_data
        fields = CLIENT_FACTS if existing else IDENTITY + CLIENT_FACTS
        return {f: data.get(f) for f in fields}

    def need_items(self) -> list[dict[str, str]]:
        return [{"code": code} for code in self.cleaned_data.get("needs", [])]


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
