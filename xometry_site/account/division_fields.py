"""Province and city menus that work with and without JavaScript.

Without JavaScript the visitor picks a province and presses "Update cities": the form comes back
with that province's cities and everything typed so far. With JavaScript (static/js/divisions.js)
the city menu is refilled from `account.divisions` as soon as the province changes.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField

from ..forms import choices
from ..services import divisions


class DivisionFieldsMixin:
    """Adds `province`, `city` and the no-JS `update_cities` button to a FlaskForm."""

    province = SelectField(_l("Province"), validate_choice=False, default="")
    city = SelectField(_l("City"), validate_choice=False, default="")
    update_cities = SubmitField(_l("Update cities"))

    def fill_division_choices(self, locale: object) -> None:
        """Menus in the page language; the city menu lists the chosen province's cities."""
        self.province.choices = choices(divisions.provinces(locale), _l("Choose a province"))
        city_choices = divisions.cities(self.province.data or "", locale)
        self.city.choices = choices(city_choices, _l("Choose a city"))
        if self.city.data and self.city.data not in {code for code, _name in city_choices}:
            self.city.data = ""  # the province changed: the old city no longer applies

    @property
    def wants_city_update(self) -> bool:
        """The no-JS "Update cities" button was pressed: re-render, do not save."""
        return bool(self.update_cities.data)

    def check_division_pair(self, required: bool) -> bool:
        """Server-side check of the pair (a tampered or stale form fails here); errors on fields."""
        province, city = self.province.data or "", self.city.data or ""
        if not province and not city:
            if required:
                add_error(self.province, _l("Please choose a province."))
                add_error(self.city, _l("Please choose a city."))
            return not required
        chosen = divisions.get(province)
        if chosen is None or chosen.parent is not None:
            add_error(self.province, _l("Please choose a province."))
            return False
        if not divisions.is_valid_pair(province, city):
            add_error(self.city, _l("Please choose a city of the chosen province."))
            return False
        return True


def add_error(field, message) -> None:
    """Attach an error to a field whether or not WTForms has validated it yet."""
    field.errors = [*field.errors, message]
