"""Every `{% call fragment(name, *key) %}` names in its key everything its body shows.

A body that used, say, `current_user.name` without it in the key would show one customer's name
to the next: this reads the templates and fails on any value the key leaves out.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import Environment, nodes

TEMPLATES = Path(__file__).resolve().parents[2] / "xometry_site" / "templates"
# Functions whose output depends only on what the rule beside them asks to be in the key.
PURE = {
    "_": "current_locale",  # the catalogue of the page's language
    "url_for": "request.script_root",  # paths under the URL prefix
    "csrf_token": None,  # kept as a placeholder, each session's own put in on the way out
}


def _chain(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        base = _chain(node.node)
        return f"{base}.{node.attr}" if base else None
    return None


def _uses(node: nodes.Node) -> set[str]:
    """The values `node` reads: names and attribute chains (`current_user.is_staff`)."""
    chain = _chain(node)
    if chain is not None and (isinstance(node, nodes.Getattr) or node.ctx == "load"):
        return {chain}
    found: set[str] = set()
    for child in node.iter_child_nodes():
        found |= _uses(child)
    return found


def _fragments() -> list[tuple[str, str, set[str], set[str]]]:
    env = Environment(extensions=["jinja2.ext.i18n"])  # noqa: S701 - parsed, never rendered
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        for block in tree.find_all(nodes.CallBlock):
            call = block.call
            if not (isinstance(call.node, nodes.Name) and call.node.name == "fragment"):
                continue
            name = call.args[0].value
            key = set().union(*(_uses(arg) for arg in call.args[1:]))
            body = set().union(*(_uses(node) for node in block.body))
            found.append((path.relative_to(TEMPLATES).as_posix(), name, key, body))
    return found


FRAGMENTS = _fragments()


def test_the_layout_uses_fragments():
    assert {name for _path, name, _key, _body in FRAGMENTS} >= {
        "main-nav",
        "footer",
        "cookie-banner",
    }
    assert len({name for _p, name, _k, _b in FRAGMENTS}) == len(FRAGMENTS), "names are unique"


@pytest.mark.parametrize("path,name,key,body", FRAGMENTS, ids=[f[1] for f in FRAGMENTS])
def test_the_key_names_everything_the_body_shows(path, name, key, body):
    missing = set()
    for used in body:
        if used in PURE:
            needs = PURE[used]
            if needs and needs not in key:
                missing.add(f"{needs} (for {used})")
        elif used not in key:
            missing.add(used)
    assert not missing, f"{path}: fragment {name!r} shows {sorted(missing)}, not in its key"


def test_the_check_finds_a_value_left_out_of_the_key():
    env = Environment()  # noqa: S701 - parsed, never rendered
    tree = env.parse(
        '{% call fragment("x", current_locale) %}{{ current_user.name }}'
        "{{ url_for('a') }}{% endcall %}"
    )
    block = next(tree.find_all(nodes.CallBlock))
    assert _uses(block.body[0]) == {"current_user.name", "url_for"}
