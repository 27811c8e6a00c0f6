"""The catalogue of processes, materials and finishes: names in the visitor's language, form choices, valid combinations."""

from __future__ import annotations

from typing import Any


def _rules() -> dict[str, Any]:
    """The operator's pricing rules: processes, materials and finishes with their names."""
    from . import pricing

    return pricing.load_rules()


def _name(entry: dict[str, Any], key: str, lang: str) -> str:
    from . import pricing

    names = entry.get("name") or {}
    return pricing.localized(names, lang) if names else key


def _lang() -> str:
    from ...i18n import current_language

    try:
        return current_language()
    except Exception:
        return "zh_CN"


def catalogue_name(kind: str, key: str | None, process: str | None = None) -> str:
    """Display name of a process, material or finish in the current language."""
    if not key:
        return ""
    processes = _rules()["processes"]
    lang = _lang()
    if kind == "process":
        entry = processes.get(key)
        return _name(entry, key, lang) if entry else key
    plural = {"material": "materials", "finish": "finishes"}.get(kind, kind)
    entry = (processes.get(process or "") or {}).get(plural, {}).get(key)
    if entry is None:  # no process known (or another one's key): the first process naming it
        entry = next((p[plural][key] for p in processes.values() if key in p.get(plural, {})), None)
    return _name(entry, key, lang) if entry else key


def form_choices() -> dict[str, list[Any]]:
    """Choices for the upload and part forms: processes, then materials and finishes grouped by
    process, tolerances and inspections. Built once per rules file and language (a live price
    validates with them)."""
    rules, lang = _rules(), _lang()
    kept = _CHOICES.get((id(rules), lang))
    if kept is None or kept[0] is not rules:
        if len(_CHOICES) > 16:
            _CHOICES.clear()
        kept = _CHOICES[(id(rules), lang)] = (rules, _choices_of(rules, lang))
    return kept[1]


# (id of the rules, language) → (those rules, their choices): an edited file is a new object;
# keeping it in the value means its id cannot be reused while the entry lives.
_CHOICES: dict[tuple[int, str], tuple[dict[str, Any], dict[str, list[Any]]]] = {}


def _choices_of(rules: dict[str, Any], lang: str) -> dict[str, list[Any]]:
    from wtforms import SelectChoice  # the (value, label) tuples are deprecated since WTForms 3.3

    processes = rules["processes"]
    choices: dict[str, list[Any]] = {"process": [], "material": [], "finish": []}
    for kind in ("tolerance", "inspection"):
        entries = (rules.get("options") or {}).get(kind) or {}
        choices[kind] = [SelectChoice(k, _name(entry, k, lang)) for k, entry in entries.items()]
    for key, process in processes.items():
        label = _name(process, key, lang)
        choices["process"].append(SelectChoice(key, label))
        choices["material"] += [
            SelectChoice(m, _name(entry, m, lang), optgroup=label)
            for m, entry in process.get("materials", {}).items()
        ]
        choices["finish"] += [
            SelectChoice(f, _name(entry, f, lang), optgroup=label)
            for f, entry in process.get("finishes", {}).items()
        ]
    return choices


def material_combinations() -> dict[str, dict[str, Any]]:
    """process → its materials, and each finish → the materials it allows (None: any)."""
    result: dict[str, dict[str, Any]] = {}
    for key, process in _rules()["processes"].items():
        result[key] = {
            "materials": list(process.get("materials", {})),
            "finishes": {f: e.get("materials") for f, e in process.get("finishes", {}).items()},
        }
    return result


def combination_error(process: str, material: str, finish: str | None) -> str | None:
    """ "material"/"finish" when the choice does not belong to the process, else None."""
    allowed = material_combinations().get(process)
    if allowed is None:
        return "process"
    if material not in allowed["materials"]:
        return "material"
    if finish:
        if finish not in allowed["finishes"]:
            return "finish"
        only = allowed["finishes"][finish]
        if only is not None and material not in only:
            return "finish"
    return None


def default_finish(process: str) -> str:
    """The first finish the rules list for a process (the one that costs nothing extra)."""
    from . import pricing

    finishes = pricing.load_rules()["processes"].get(process, {}).get("finishes", {})
    return next(iter(finishes), "")


def option_name(kind: str, key: str | None) -> str:
    """Display name of a tolerance or inspection choice in the current language."""
    entry = ((_rules().get("options") or {}).get(kind) or {}).get(key or "")
    return _name(entry, key or "", _lang()) if entry else (key or "")


def reviewed_options() -> dict[str, list[str]]:
    """Option values that always send a part to an engineer (shown beside their control)."""
    tolerances = (_rules().get("options") or {}).get("tolerance") or {}
    return {"tolerance": [key for key, entry in tolerances.items() if entry.get("review")]}


def listing() -> dict[str, Any]:
    """Everything a part can be made with, named in the current language (the Mini Program's
    pickers): processes with their materials and finishes (and the materials each finish
    allows), tolerances, the tapped-hole count's bounds, inspections, the rules' defaults."""
    rules, lang = _rules(), _lang()
    options = rules.get("options") or {}
    processes = []
    for key, process in rules["processes"].items():
        processes.append(
            {
                "code": key,
                "name": _name(process, key, lang),
                "instant": bool(process.get("instant", True)),
                "lead_days": dict(process.get("lead_days") or {}),
                "materials": [
                    {"code": m, "name": _name(entry, m, lang)}
                    for m, entry in process.get("materials", {}).items()
                ],
                "finishes": [
                    {"code": f, "name": _name(entry, f, lang), "materials": entry.get("materials")}
                    for f, entry in process.get("finishes", {}).items()
                ],
            }
        )
    return {
        "processes": processes,
        "tolerances": [
            {"code": key, "name": _name(entry, key, lang), "review": bool(entry.get("review"))}
            for key, entry in (options.get("tolerance") or {}).items()
        ],
        "threads": {"instant_max": (options.get("threads") or {}).get("max_instant")},
        "inspections": [
            {"code": key, "name": _name(entry, key, lang)}
            for key, entry in (options.get("inspection") or {}).items()
        ],
        "defaults": dict(rules.get("defaults") or {}),
    }
