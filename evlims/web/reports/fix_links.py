"""Links from a failing rule to the form that records what it lacks, for one stored preparation.

A rule reads document paths (``compliance.write_paths``); for each path its ``satisfied_when`` reads that the
preparation's evaluated document lacks, the link opens the form of *this* preparation's record that writes
it (the sample's edit page, the preparation's, a new marker result, the run step…) with the field focused
(``?focus=<field>``, honoured by evlims.js). A rule that fails on values rather than on gaps (too few
positive markers, a hemolysis above the limit) links to the forms of every path its condition reads.
"""

from dataclasses import dataclass
from functools import cache

import yaml
from django.urls import reverse

from ...compliance.read_paths import condition_paths
from ...compliance.rulesets import RULESETS_DIR, default_rulesets, load_ruleset
from ...compliance.wording import field_words
from ...compliance.write_paths import WritePath, write_path_for

PARAMS = "separation[].params."
# Where a form records, after "Record …".
RESULT_WORDS = {
    "particle": "as a particle analysis",
    "protein": "as a protein quantification",
    "marker": "as a marker result",
    "imaging": "as an imaging result",
    "lipid": "as a lipid quantification",
    "rna": "as an RNA quantification",
}


@dataclass(frozen=True)
class FixLink:
    url: str
    text: str  # "Record the storage buffer and storage container on the preparation"
    field: str  # the form field focused ("" when the page has no single field)
    paths: tuple[str, ...]  # the document paths the form records


@dataclass(frozen=True)
class _Target:
    url_name: str
    args: tuple
    field: str
    where: str


@cache
def _rule_specs(name: str, version: int) -> dict[str, dict]:
    data = yaml.safe_load((RULESETS_DIR / f"{name}@{version}.yaml").read_text(encoding="utf-8"))
    return {rule["id"]: rule for rule in data["rules"]}


@cache
def rule_reads(name: str, version: int, rule_id: str) -> tuple[str, ...]:
    """The document paths a rule's ``satisfied_when`` reads (what it needs, not where it applies)."""
    return tuple(sorted(condition_paths(_rule_specs(name, version)[rule_id]["satisfied_when"])))


def _step_methods(spec, param: str) -> set[str]:
    """The separation methods for which a rule's ``param_present_for_all_steps`` asks ``param``."""
    ((name, args),) = spec.items()
    if name in ("all", "any"):
        return set().union(*(_step_methods(child, param) for child in args))
    if name == "not":
        return _step_methods(args, param)
    if name == "param_present_for_all_steps":
        return {method for method, names in args.items() if any(param in item.split("|") for item in names)}
    return set()


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _missing(value, parts: list[str]) -> bool:
    """Whether a document lacks a path: an absent or empty value, an absent or empty list, or a list item
    without the rest of the path."""
    if not parts:
        return _empty(value)
    head, rest = parts[0], parts[1:]
    key = head.removesuffix("[]")
    child = value.get(key) if isinstance(value, dict) else None
    if head.endswith("[]"):
        if not isinstance(child, list) or not child:
            return True
        return any(_missing(item, rest) for item in child)
    return _missing(child, rest)


def _gaps(document: dict, name: str, version: int, rule_id: str) -> list[tuple[str, int | None]]:
    """(path, separation step index or None) for each path the rule needs that the document lacks."""
    satisfied = _rule_specs(name, version)[rule_id]["satisfied_when"]
    steps = document.get("separation") or []
    gaps = []
    for path in rule_reads(name, version, rule_id):
        if path.startswith(PARAMS):
            param = path.removeprefix(PARAMS)
            methods = _step_methods(satisfied, param) or {"immunoaffinity"}
            gaps.extend(
                (path, index)
                for index, step in enumerate(steps)
                if step.get("method") in methods and _empty((step.get("params") or {}).get(param))
            )
        elif _missing(document, path.split(".")):
            gaps.append((path, None))
    return gaps


def _target(entry: WritePath, preparation, step: int | None) -> _Target | None:
    run, sample = preparation.run, preparation.input_aliquot.sample
    name, field = entry.form_url, entry.form_field
    if name == "evlims:sample-edit":
        return _Target(name, (sample.pk,), field, f"on sample {sample.barcode}")
    if name == "evlims:donor-edit":
        if sample.donor_id is None:
            return _Target("evlims:sample-edit", (sample.pk,), "donor", f"on sample {sample.barcode}")
        return _Target(name, (sample.donor_id,), field, "on the donor's record")
    if name == "evlims:preparation-edit":
        return _Target(name, (preparation.pk,), field, "on the preparation")
    if name == "evlims:preparation-detail":
        return _Target(name, (preparation.pk,), field, "with the preparation's flow cytometry files")
    if name == "evlims:preparation-functional-study":
        return _Target(name, (preparation.pk,), field, "as a functional study of the preparation")
    if name == "evlims:result-new":
        kind = dict(entry.form_kwargs)["kind"]
        return _Target(name, (preparation.pk, kind), field, RESULT_WORDS[kind])
    if name == "evlims:run-step":
        number = (step or 0) + 1
        param = field if field != "*" else ""
        return _Target(name, (run.pk, number), param, f"at step {number} of run {run.code}")
    if name == "evlims:aliquot-thaw":
        return _Target(name, (preparation.input_aliquot_id,), field, "as a thaw of the input aliquot")
    if name == "evlims:run-new":
        return _Target(name, (), field, "when the run is planned")
    if name == "evlims:protocol-new":
        return _Target(name, (), field, "in the run's protocol")
    return None


def _words(path: str, entry: WritePath) -> str:
    if path.startswith(PARAMS):
        return field_words(path.removeprefix(PARAMS))
    text = entry.label
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def path_link(preparation, path: str, step: int | None = None) -> FixLink | None:
    """The link that records one document path for this preparation (``step``: the separation step's index
    for a step parameter), or None when nothing writes the path."""
    links = _links(preparation, [(path, step)])
    return links[0] if links else None


def rule_links(preparation, document: dict, name: str, version: int, rule_id: str) -> list[FixLink]:
    """The forms that record what one rule lacks for this preparation: one link per form and record, focused
    on the first field lacking there."""
    gaps = _gaps(document, name, version, rule_id) or [(path, None) for path in rule_reads(name, version, rule_id)]
    return _links(preparation, gaps)


def _links(preparation, gaps) -> list[FixLink]:
    grouped: dict[tuple, dict] = {}
    for path, step in gaps:
        entry = write_path_for(path)
        target = entry and _target(entry, preparation, step)
        if target is None:
            continue
        if path.startswith(PARAMS):
            target = _Target(target.url_name, target.args, path.removeprefix(PARAMS), target.where)
        group = grouped.setdefault(
            (target.url_name, target.args), {"target": target, "words": [], "paths": [], "new": False}
        )
        # A whole characterisation list ("characterization.markers") asks for another result, not a field.
        group["new"] |= path.startswith("characterization.") and path.count(".") == 1
        words = _words(path, entry)
        if words not in group["words"]:
            group["words"].append(words)
        group["paths"].append(path)
    links = []
    for group in grouped.values():
        target = group["target"]
        url = reverse(target.url_name, args=target.args)
        if target.field:
            url += f"?focus={target.field}"
        if group["new"] and target.where.startswith("as "):
            text = "Add " + target.where.removeprefix("as ")
        else:
            text = f"Record {_article(group['words'])} {target.where}"
        links.append(FixLink(url, text, target.field, tuple(group["paths"])))
    return links


def _article(words: list[str]) -> str:
    return "the " + _joined(words) if words[0][:1].islower() else _joined(words)


@cache
def _rule_versions(rulesets: tuple) -> dict[str, tuple[str, int]]:
    """Rule id -> (rule set, version) over the rule sets an evaluation used (rule ids are unique across sets)."""
    return {rule.id: (name, version) for name, version in rulesets for rule in load_ruleset(f"{name}@{version}").rules}


def next_step_links(steps: list[dict], *, preparation, evaluation) -> None:
    """Give each "What to do next" entry its ``links``: the forms for every rule the fix satisfies, each form
    once, in the order of the rules."""
    used = evaluation.rulesets or {ruleset.name: ruleset.version for ruleset in default_rulesets()}
    versions = _rule_versions(tuple(sorted(used.items())))
    document = evaluation.document or {}
    for step in steps:
        links, seen = [], set()
        for rule in step["rules"]:
            if rule["id"] not in versions:
                continue
            for link in rule_links(preparation, document, *versions[rule["id"]], rule["id"]):
                page = link.url.split("?")[0]
                if page not in seen:
                    seen.add(page)
                    links.append(link)
        step["links"] = links
