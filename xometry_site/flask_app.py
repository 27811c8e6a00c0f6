"""The Flask class of the site."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask


class SiteFlask(Flask):
    """Flask, remembering for each view and hook whether it needed wrapping as a coroutine: Flask
    asked `inspect` about each of the dozen functions a request runs, on every request (2 % of a
    page served from the cache). The functions are registered once, so the answer never changes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._synced[func]
        except KeyError:
            synced = self._synced[func] = super().ensure_sync(func)
            return synced
        except TypeError:  # an unhashable callable: ask every time, as Flask does
            return super().ensure_sync(func)
