"""Route table of the auth blueprint: the pages live in one module per workflow."""

from . import login_views, password_views, register_views  # noqa: F401 - they register routes on bp
