"""A part's forms filled with the catalogue's choices and the part's saved options."""

from __future__ import annotations

from ..forms import choices
from ..services.quotes import catalogue
from ..services.quotes.part_quote import PartOptions, options_of
from .forms import AttachForm, PartForm


def part_form_for(quote, part, form: PartForm | None = None) -> PartForm:
    """Choices from the rules; a fresh form shows what is saved for the part."""
    if form is None:
        saved = options_of(part, quote)
        form = PartForm(
            formdata=None,
            process=saved.process,
            material=saved.material,
            finish=saved.finish,
            quantity=saved.quantity,
            tolerance=saved.tolerance,
            threads=saved.threads,
            inspection=saved.inspection,
        )
        form.process_.data = saved.process
    options = catalogue.form_choices()
    form.process_.choices = options["process"]
    form.material.choices = options["material"]
    form.finish.choices = options["finish"]
    form.tolerance.choices = options["tolerance"]
    form.inspection.choices = options["inspection"]
    prefix = f"part-{part.id}-"
    for field in form:
        field.id = field.label.field_id = prefix + field.name
    return form


def part_options(form: PartForm) -> PartOptions:
    return PartOptions(
        process=form.process_.data,
        material=form.material.data,
        finish=form.finish.data,
        quantity=int(form.quantity.data),
        tolerance=form.tolerance.data,
        threads=int(form.threads.data or 0),
        inspection=form.inspection.data,
    )


def attach_form_for(quote, drawing, form: AttachForm | None = None) -> AttachForm:
    """The parts a 2D drawing can belong to, or "" for a part of its own."""
    from flask_babel import lazy_gettext as _l

    form = form or AttachForm(part_id=str(drawing.part_of_id or ""))
    targets = [p for p in quote.parts if not p.is_flat and p.id != drawing.id]
    form.part_id.choices = choices(
        [(str(p.id), p.filename) for p in targets],
        blank_label=_l("No part: an engineer quotes it on its own"),
    )
    return form
