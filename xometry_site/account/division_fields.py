"""Province, city and district menus that work with and without JavaScript.

Without JavaScript the visitor picks a province and presses "Update the lists": the form comes back
with that province's cities and everything typed so far; after choosing the city, the same button
lists its districts (and a save without a district comes back with them listed, asking for one).
With JavaScript (static/js/divisions.js) each menu is refilled from `account.divisions_json` as soon
as the one above it changes.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField

from ..forms import choices
from ..services import divisions


class DivisionFieldsMixin:
    """Adds `province`, `city`, `district` and the no-JS `update_cities` button to a FlaskForm."""

    province = SelectField(_l("Province"), validate_choice=False, default="")
    city = SelectField(_l("City"), validate_choice=False, default="")
    district = SelectField(_l("District / county"), validate_choice=False, default="")
    update_cities = SubmitField(_l("Update the lists"))

    def fill_division_choices(self, locale: object) -> None:
        """Menus in the page language; each lists the divisions of the one chosen above it."""
        self.province.choices = choices(divisions.provinces(locale), _l("Choose a province"))
        city_choices = divisions.cities(self.province.data or "", locale)
        self.city.choices = choices(city_choices, _l("Choose a city"))
        if self.city.data and self.city.data not in {code for code, _name in city_choices}:
            self.city.data = ""  # the province changed: the old city no longer applies
        district_choices = divisions.districts(self.city.data or "", locale)
        # a district of another city stays in .data (the check names it) but is not offered
        self.district.choices = choices(district_choices, _l("Choose a district or county"))

    @property
    def city_has_districts(self) -> bool:
        """The chosen city is divided (most are; 东莞市 and 仙桃市 are not): the menu is shown."""
        return divisions.has_districts(self.city.data)

    @property
    def wants_city_update(self) -> bool:
        """The no-JS "Update the lists" button was pressed: re-render, do not save."""
        return bool(self.update_cities.data)

    def check_division_pair(self, required: bool) -> bool:
        """Server-side check of province, city and district (a tampered or stale form fails
        here); errors on fields."""
        province, city = self.province.data or "", self.city.data or ""
        district = self.district.data or ""
        if not province and not city and not district:
            if required:
                add_error(self.province, _l("Please choose a province."))
                add_error(self.city, _l("Please choose a city."))
            return not required
        if divisions.province_of(province) is None:
            add_error(self.province, _l("Please choose a province."))
            return False
        if not divisions.is_valid_pair(province, city):
            add_error(self.city, _l("Please choose a city of the chosen province."))
            return False
        if not district and divisions.has_districts(city):
            add_error(self.district, _l("Please choose the district or county."))
            return False
        if district and not divisions.is_valid_district(city, district):
            add_error(self.district, _l("Please choose a district or county of the chosen city."))
            return False
        return True


def add_error(field, message) -> None:
    """Attach an error to a field whether or not WTForms has validated it yet."""
    field.errors = [*field.errors, message]
