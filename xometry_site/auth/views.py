"""Routes of this feature."""

from . import bp


@bp.route("/login", methods=["GET", "POST"])
def login():
    from flask import abort

    abort(404)


@bp.route("/register", methods=["GET", "POST"])
def register():
    from flask import abort

    abort(404)


@bp.post("/logout")
def logout():
    from flask import abort

    abort(404)
