"""Templates' per-render `_` (templating.page_gettext) behaves as Jinja's i18n `_` did."""

from __future__ import annotations

from flask import render_template_string

VAT = (
    "For STL and STEP parts we analyse the geometry and price it at once, with lead times "
    "in working days and %(vat)s VAT shown."
)


def render(app, source: str, lang: str = "zh_CN", **context) -> str:
    with app.app_context(), app.test_request_context(f"/?lang={lang}"):  # a fresh g each
        return render_template_string(source, **context)


def test_translates_and_escapes_variables_but_not_the_catalogue_text(app):
    html = render(app, '{{ _(msg, vat="<b>13%</b>") }}', msg=VAT)
    assert "&lt;b&gt;13%&lt;/b&gt;" in html and "<b>" not in html
    assert "增值税" in html  # the Chinese sentence, not the English msgid
    english = render(app, '{{ _(msg, vat="13%") }}', lang="en", msg=VAT)
    assert english == VAT % {"vat": "13%"}


def test_plain_text_blocks_are_not_escaped(app):
    text = render(
        app,
        '{% autoescape false %}{{ _(msg, vat="<13%>") }}{% endautoescape %}',
        lang="en",
        msg=VAT,
    )
    assert text == VAT % {"vat": "<13%>"}


def test_a_changed_locale_within_a_request_is_used_by_the_next_render(app):
    from flask_babel import force_locale

    with app.app_context(), app.test_request_context("/?lang=zh_CN"):
        chinese = render_template_string("{{ _('Request a quote') }}")
        with force_locale("en"):
            english = render_template_string("{{ _('Request a quote') }}")
    assert chinese == "申请报价" and english == "Request a quote"


def test_plural_forms_fill_in_the_number_and_escape_variables(app):
    source = '{{ ngettext("%(num)s part", "%(num)s parts", n) }}|{{ ngettext(s, p, 2, x="<i>") }}'
    english = render(app, source, lang="en", n=1, s="%(num)s %(x)s", p="%(num)s %(x)s!")
    assert english == "1 part|2 &lt;i&gt;!"
    assert render(app, '{{ ngettext("%(num)s part", "%(num)s parts", 3) }}') == "3 个零件"


def test_dates_are_the_visitors_day_in_shanghai_in_each_language(app):
    from datetime import UTC, datetime

    late_utc = datetime(2024, 1, 22, 17, 30, tzinfo=UTC)  # already 23 January in Shanghai
    source = "{{ when|dateformat }} / {{ when|dateformat('long') }}"
    assert render(app, source, when=late_utc) == "2024年1月23日 / 2024年1月23日"
    assert render(app, source, lang="en", when=late_utc) == "Jan 23, 2024 / January 23, 2024"
    # the same UTC day eight hours earlier is still 22 January there
    assert render(app, source, when=late_utc.replace(hour=10)) == "2024年1月22日 / 2024年1月22日"
