"""Routes of this feature."""

from . import bp


@bp.route("/", methods=["GET", "POST"])
def index():
    from flask import abort

    abort(404)
