"""Shared by the tests that reach the Mini Program API's documented errors: which errors the
OpenAPI document lists, and a recorder of the ones requests a client could send reached."""

from __future__ import annotations

import json

from test_mp_api import API, bearer

VERBS = {"get", "put", "post", "delete", "patch"}

Error = tuple[str, str, int]  # method, documented path, status


def operations(spec: dict):
    """(method, path, operation) of every operation in the document."""
    for path, ops in spec["paths"].items():
        for method, operation in ops.items():
            if method in VERBS:
                yield method.upper(), path, operation


def all_tags(spec: dict) -> set[str]:
    return {tag for _, _, operation in operations(spec) for tag in operation.get("tags", ())}


def documented_errors(spec: dict, tags: set[str]) -> set[Error]:
    """Each status >= 400 the operations with one of `tags` document."""
    return {
        (method, path, int(status))
        for method, path, operation in operations(spec)
        if set(operation.get("tags", ())) & tags
        for status in operation["responses"]
        if status.isdigit() and int(status) >= 400
    }


def takes_json(spec: dict, method: str, path: str) -> bool:
    body = spec["paths"][path][method.lower()].get("requestBody", {})
    return "application/json" in body.get("content", {})


def needs_token(spec: dict, method: str, path: str) -> bool:
    return bool(spec["paths"][path][method.lower()].get("security"))


class Reacher:
    """Sends requests and records each documented error one of them reached."""

    def __init__(self, client, values: dict | None = None) -> None:
        self.client = client
        self.values = values or {}
        self.reached: set[Error] = set()

    def expect(self, method, template, status, tokens=None, path=None, code=None, **kw):
        """`template` is the documented path under the prefix; `path` the one sent, if not
        `template` filled with the values. Every error answer has a code and a message."""
        url = API + (path or template.format(**self.values))
        headers = {**(bearer(tokens) if tokens else {}), **kw.pop("headers", {})}
        answer = self.client.open(url, method=method, headers=headers, **kw)
        assert answer.status_code == status, (method, url, answer.get_json())
        error = answer.get_json()["error"]
        assert error["code"] and error["message"].strip(), (method, url, error)
        if code is not None:
            assert error["code"] == code, (method, url, error)
        self.reached.add((method, API + template, status))
        return answer

    def common(self, spec, documented, *, tokens, registering, limit: int, skip=()) -> None:
        """The errors every operation of a kind answers alike: 401 without a token, 403 while
        registering, 400 for a body that is not a JSON object, 413 above the body limit."""
        big = json.dumps({"name": "x" * limit})
        for method, path, status in sorted(documented):
            template = path.removeprefix(API)
            if (method, template, status) in skip:
                continue
            if status == 401 and needs_token(spec, method, path):
                self.expect(method, template, 401, json={}, code="unauthorized")
            elif status == 403 and needs_token(spec, method, path):
                self.expect(
                    method, template, 403, registering, json={}, code="registration_required"
                )
            elif status == 400 and takes_json(spec, method, path):
                self.expect(
                    method, template, 400, tokens, data="[]", content_type="application/json"
                )
            elif status == 413 and takes_json(spec, method, path):
                self.expect(
                    method,
                    template,
                    413,
                    tokens,
                    data=big,
                    content_type="application/json",
                    code="too_large",
                )
