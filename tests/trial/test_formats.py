"""Dates and times in English read as a Danish hospital reads them: day first, 24-hour clock."""

import datetime as dt

from django.template import Context, Template
from django.utils import formats, translation


def _render(source: str, **context) -> str:
    return Template(source).render(Context(context)).strip()


def test_english_dates_are_day_first_and_times_24_hour(settings):
    settings.TIME_ZONE = "Europe/Copenhagen"
    moment = dt.datetime(2026, 3, 12, 0, 4)
    with translation.override("en"):
        assert _render("{{ d|date:'SHORT_DATE_FORMAT' }}", d=moment.date()) == "12/03/2026"
        assert _render("{{ d|date }}", d=moment.date()) == "12 Mar 2026"
        assert _render("{{ t|time }}", t=moment.time()) == "00:04"
        assert _render("{{ m|date:'SHORT_DATETIME_FORMAT' }}", m=moment) == "12/03/2026 00:04"
        assert "a.m." not in _render("{{ m }}", m=moment)


def test_english_date_inputs_accept_iso_and_day_first():
    from django import forms

    class F(forms.Form):
        day = forms.DateField()

    with translation.override("en"):
        assert formats.get_format("DATE_INPUT_FORMATS")[0] == "%Y-%m-%d"
        for typed in ["2026-03-12", "12/03/2026"]:
            form = F({"day": typed})
            assert form.is_valid(), typed
            assert form.cleaned_data["day"] == dt.date(2026, 3, 12)


def test_danish_formats_are_django_s_own():
    with translation.override("da"):
        assert _render("{{ d|date:'SHORT_DATE_FORMAT' }}", d=dt.date(2026, 3, 12)) == "12.03.2026"
