"""The one parser of statistics filters, shared by the dashboard page and the API."""

from __future__ import annotations

import re
from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from centers.models import Center, CenterKind, Domain, Region
from stats.definitions import month_of

GROUPS = [
    ("month", _("Month")),
    ("center", _("Center")),
    ("region", _("Region")),
    ("kind", _("Center kind")),
    ("domain", _("Domain")),
    ("service", _("Service")),
    ("desk", _("Desk")),
    ("channel", _("Channel")),
]
MAX_MONTHS = 60
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _shift(m: date, months: int) -> date:
    index = m.year * 12 + m.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


class MonthField(forms.CharField):
    def to_python(self, value):  # type: ignore[override]
        value = super().to_python(value)
        if not value:
            return None
        match = _MONTH.match(value) if len(value) <= 7 else None
        if not match or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2100:
            raise forms.ValidationError(_("Enter a month as YYYY-MM, e.g. 2026-03."), code="invalid")
        return date(int(match[1]), int(match[2]), 1)


class StatsFilterForm(forms.Form):
    start = MonthField(required=False, label=_("First month"))
    end = MonthField(required=False, label=_("Last month"))
    center = forms.CharField(required=False, max_length=40, label=_("Center"))
    kind = forms.ChoiceField(required=False, choices=[("", _("All"))] + CenterKind.choices, label=_("Center kind"))
    region = forms.CharField(required=False, max_length=2, label=_("Region"))
    domain = forms.ChoiceField(required=False, choices=[("", _("All"))] + Domain.choices, label=_("Domain"))
    group = forms.ChoiceField(required=False, choices=GROUPS, label=_("Group by"))

    def __init__(self, data=None, **kwargs):
        if data is not None:
            # The API says from/to; `from` is a Python keyword, so the form calls them start/end.
            data = {k: v for k, v in data.items() if k not in ("from", "to")} | {
                "start": data.get("from", data.get("start", "")),
                "end": data.get("to", data.get("end", "")),
            }
            for k, v in data.items():
                if isinstance(v, str) and "\x00" in v:
                    data[k] = ""
                    self._nul = k
        super().__init__(data, **kwargs)

    def clean_center(self) -> Center | None:
        value = self.cleaned_data.get("center") or ""
        if not value:
            return None
        qs = Center.objects.select_related("region")
        center = qs.filter(pk=int(value)).first() if value.isdigit() else qs.filter(code=value).first()
        if center is None:
            raise forms.ValidationError(_("No such center."), code="invalid")
        return center

    def clean_region(self) -> Region | None:
        value = self.cleaned_data.get("region") or ""
        if not value:
            return None
        region = Region.objects.filter(code=value).first()
        if region is None:
            raise forms.ValidationError(_("No such region."), code="invalid")
        return region

    def clean(self):
        data = super().clean() or {}
        if getattr(self, "_nul", None):
            self.add_error(self._nul, _("This value contains a forbidden character."))
        end = data.get("end") or month_of(timezone.now())
        start = data.get("start") or _shift(end, -11)
        if start > end:
            self.add_error("start", _("The first month must not be after the last."))
        elif (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
            self.add_error("start", _("Choose at most 60 months."))
        data["start"], data["end"] = start, end
        data["group"] = data.get("group") or "month"
        return data
