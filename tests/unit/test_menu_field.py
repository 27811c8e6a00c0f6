"""MenuField answers exactly as WTForms' SelectField does, without building every option."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectChoice, SelectField

from xometry_site.forms import MenuField

MENUS = {
    "choices": [SelectChoice("al6061", "Aluminium"), SelectChoice("ss304", "Stainless")],
    "grouped": [
        SelectChoice("al6061", "Aluminium", optgroup="CNC"),
        SelectChoice("ss304", "Stainless", optgroup="Sheet"),
    ],
    "values": ["al6061", "ss304"],
}


def verdict(field_class, menu, answer, **options):
    class One(Form):
        material = field_class("Material", choices=menu, **options)

    form = One(MultiDict({"material": answer}) if answer is not None else MultiDict())
    return form.validate(), form.material.errors


@pytest.mark.parametrize("menu", MENUS.values(), ids=MENUS.keys())
@pytest.mark.parametrize("answer", ["al6061", "ss304", "pla", "", "AL6061", None])
def test_the_same_verdict_and_message_as_a_select(menu, answer):
    assert verdict(MenuField, menu, answer) == verdict(SelectField, menu, answer)


@pytest.mark.parametrize("answer", ["1", "3", "x"])
def test_coerced_answers_too(answer):
    menu = [SelectChoice(1, "one"), SelectChoice(2, "two")]
    mine = verdict(MenuField, menu, answer, coerce=int)
    assert mine == verdict(SelectField, menu, answer, coerce=int)
    assert mine[0] is (answer == "1")


def test_a_refusal_names_the_problem():
    valid, errors = verdict(MenuField, MENUS["choices"], "pla")
    assert not valid and errors == ["Not a valid choice."]
    valid, errors = verdict(MenuField, MENUS["choices"], "pla", invalid_choice_message="Pick one.")
    assert errors == ["Pick one."]
