"""Compliance as people read it: a stored evaluation shaped into sections, a "what to do next" list, study
summaries, and the compliance report as HTML and PDF.

The pages and the printed report use the same builders, so what a reviewer signs off on screen is what
the PDF shows.
"""

from ...compliance import selectors
from ...compliance.evaluator import study_ev_metric
from ...compliance.wording import prose
from .plots import Series, size_distribution_svg

# (icon, words, css class): every verdict is shown as text and a symbol, so it reads without colour.
STATUS_DISPLAY = {
    "pass": ("✓", "Pass", "verdict-pass"),
    "fail": ("✗", "Fail", "verdict-fail"),
    "not_applicable": ("–", "Not applicable", "verdict-na"),
    "insufficient_data": ("?", "Insufficient data", "verdict-insufficient"),
    "met": ("✓", "Met", "verdict-pass"),
    "not_met": ("✗", "Not met", "verdict-fail"),
}
LEVEL_DISPLAY = {
    "mandatory": "Mandatory",
    "mandatory_if_applicable": "Mandatory where it applies",
    "encouraged": "Encouraged",
}
LEVEL_ORDER = {"mandatory": 0, "mandatory_if_applicable": 1, "encouraged": 2}
# Rule sets in the order the pages show them, with their names as people say them.
SECTIONS = (
    ("misev2018", "MISEV2018"),
    ("misev2023", "MISEV2023"),
    ("purity", "Purity for the sample matrix"),
    ("miblood_ev", "MIBlood-EV (blood-derived EVs)"),
    ("miflowcyt_ev", "MIFlowCyt-EV (single-EV flow cytometry)"),
)
SECTION_TITLES = dict(SECTIONS) | {"ev_metric": "EV-METRIC"}
RULESET_TITLES = SECTION_TITLES | {"purity_matrix": SECTION_TITLES["purity"]}
DISTRIBUTION_BINS = tuple((low, low + 9 if low < 90 else 100) for low in range(0, 100, 10))


def status_display(status: str) -> dict:
    icon, words, css = STATUS_DISPLAY.get(status, ("·", status.replace("_", " ").capitalize(), "verdict-na"))
    return {"code": status, "icon": icon, "text": words, "css": css}


def _evidence_in_words(items) -> list:
    return [{**item, "detail": prose(item.get("detail"))} if isinstance(item, dict) else item for item in items or ()]


def _separation_in_words(found: dict | None) -> dict | None:
    return {**found, "decided_by": prose(found.get("decided_by") or "")} if isinstance(found, dict) else found


def _rule_row(rule: dict) -> dict:
    return {
        **rule,
        "message": prose(rule.get("message", "")),
        "evidence": _evidence_in_words(rule.get("evidence")),
        "display": status_display(rule["status"]),
        "level_text": LEVEL_DISPLAY.get(rule["level"], rule["level"]),
    }


def ruleset_sections(report: dict) -> list[dict]:
    sections = []
    for key, title in SECTIONS:
        part = report.get(key)
        if not isinstance(part, dict):
            continue
        rules = [_rule_row(rule) for rule in part.get("rules", [])]
        counts = {status: sum(1 for r in rules if r["status"] == status) for status in STATUS_DISPLAY}
        sections.append(
            {
                "key": key,
                "title": title,
                "ruleset": part.get("ruleset", key),
                "rules": rules,
                "counts": counts,
                "mandatory_failed": part.get("mandatory_failed", []),
                "mandatory_insufficient_data": part.get("mandatory_insufficient_data", []),
                "all_not_applicable": bool(rules) and counts["not_applicable"] == len(rules),
            }
        )
    return sections


def ev_metric_section(report: dict, rules: dict) -> dict | None:
    part = report.get("ev_metric")
    if not isinstance(part, dict):
        return None
    components = []
    for component_id, component in part.get("components", {}).items():
        rule = rules.get(("ev_metric", component_id))
        components.append(
            {
                "id": component_id,
                **component,
                "message": prose(component.get("message", "")),
                "evidence": _evidence_in_words(component.get("evidence")),
                "display": status_display(component["state"]),
                "level": rule.level if rule else "mandatory",
                "level_text": LEVEL_DISPLAY.get(rule.level if rule else "mandatory"),
            }
        )
    return {
        "ruleset": part.get("ruleset"),
        "score": part.get("score_pct"),
        "points": part.get("points"),
        "applicable": part.get("applicable"),
        "components": components,
    }


def next_steps(report: dict, rules: dict) -> list[dict]:
    """What to do next: one entry per distinct fix, mandatory before "where it applies" before encouraged,
    failures before missing data; each names the rules it would satisfy."""
    steps: dict[str, dict] = {}
    found = []
    metric = ev_metric_section(report, rules)
    for component in metric["components"] if metric else []:
        if component["state"] == "not_met" and component.get("fix"):
            found.append(("ev_metric", component["id"], component["title"], component["level"], "fail", component))
    for section in ruleset_sections(report):
        for rule in section["rules"]:
            if rule["status"] in ("fail", "insufficient_data") and rule.get("fix"):
                found.append((section["key"], rule["id"], rule["title"], rule["level"], rule["status"], rule))
    for order, (key, rule_id, title, level, status, item) in enumerate(found):
        step = steps.setdefault(
            item["fix"],
            {"fix": item["fix"], "level": level, "status": status, "rules": [], "first": order},
        )
        if LEVEL_ORDER.get(level, 3) < LEVEL_ORDER.get(step["level"], 3):
            step["level"] = level
        if status == "fail":
            step["status"] = "fail"
        step["rules"].append({"ruleset": SECTION_TITLES.get(key, key), "id": rule_id, "title": title})
    ordered = sorted(steps.values(), key=lambda s: (LEVEL_ORDER.get(s["level"], 3), s["status"] != "fail", s["first"]))
    for step in ordered:
        step["level_text"] = LEVEL_DISPLAY.get(step["level"], step["level"])
        step["display"] = status_display(step["status"])
    return ordered


def evaluation_view(evaluation) -> dict | None:
    """Everything a page or report shows of one stored evaluation."""
    if evaluation is None:
        return None
    report = evaluation.full_report or {}
    rules = selectors.rules_for(evaluation.rulesets)
    return {
        "evaluation": evaluation,
        "ev_metric": ev_metric_section(report, rules),
        "sections": ruleset_sections(report),
        "next_steps": next_steps(report, rules),
        "separation_class": _separation_in_words(report.get("separation_class")),
        "mandatory_misev": selectors.mandatory_misev_failures(evaluation.failed_rules, evaluation.rulesets),
        "rulesets": sorted(
            f"{RULESET_TITLES.get(name, name)} (version {version})"
            for name, version in (evaluation.rulesets or {}).items()
        ),
    }


def size_plot(preparation) -> dict | None:
    """The preparation's size distributions as an SVG data URI with a caption, or None without bins."""
    distributions = selectors.particle_size_bins(preparation)
    series = [
        Series(f"{m.method} {m.measured_at:%Y-%m-%d} (#{m.pk})", centres, values)
        for m, centres, values in distributions
    ]
    uri = size_distribution_svg(series)
    if uri is None:
        return None
    return {"uri": uri, "labels": [item.label for item in series]}


def purity_class_text(metrics) -> str | None:
    if metrics is None or not metrics.purity_class:
        return None
    return metrics.purity_class.replace("_", " ").capitalize()


def preparation_row(preparation, locked_ids) -> dict:
    """One line of a run or project table: score, mandatory MISEV failures, failure count, lock."""
    evaluation = selectors.evaluation_of(preparation)
    failed = evaluation.failed_rules if evaluation else []
    return {
        "preparation": preparation,
        "evaluation": evaluation,
        "score": evaluation.ev_metric_pct if evaluation else None,
        "mandatory_misev": selectors.mandatory_misev_failures(failed, evaluation.rulesets) if evaluation else [],
        "failed_count": len(failed),
        "locked": preparation.pk in locked_ids,
    }


def shown_ev_metric(scores) -> float | None:
    """The EV-METRIC of a run or study as the pages show it: the mean of its preparations' scores
    (``evaluator.study_ev_metric``, which leaves out the unevaluated ones), to one decimal; None without one."""
    mean = study_ev_metric(scores)
    return None if mean is None else round(mean, 1)


def study_summary(rows: list[dict]) -> dict:
    """Study EV-METRIC (mean of the preparations' scores), their distribution and the most common failures."""
    scores = [row["score"] for row in rows if row["score"] is not None]
    largest = 0
    distribution = []
    for low, high in DISTRIBUTION_BINS:
        count = sum(1 for score in scores if low <= score <= high)
        largest = max(largest, count)
        distribution.append({"low": low, "high": high, "count": count})
    for item in distribution:
        item["width_pct"] = round(100 * item["count"] / largest) if largest else 0
    failures: dict[str, int] = {}
    for row in rows:
        for rule_id in row["mandatory_misev"]:
            failures[rule_id] = failures.get(rule_id, 0) + 1
    return {
        "mean": shown_ev_metric(scores),
        "evaluated": len(scores),
        "not_evaluated": sum(1 for row in rows if row["evaluation"] is None),
        "total": len(rows),
        "distribution": distribution,
        "common_failures": sorted(failures.items(), key=lambda item: (-item[1], item[0])),
    }


def audit_summary(count: int, events) -> dict:
    actions: dict[str, int] = {}
    for event in events:
        actions[event.action] = actions.get(event.action, 0) + 1
    return {"count": count, "events": events, "shown": len(events), "actions": sorted(actions.items())}


# Paper sizes the PDF is laid out for: (the value of ?paper=, the CSS @page size, what the page calls it).
PAPER_SIZES = {"a4": ("A4", "A4"), "letter": ("letter", "US Letter")}
# What CSS reads in a quoted string other than text: quotes and backslashes, line breaks, and what could end
# the <style> element the string sits in.
_CSS_ESCAPES = {'"': "\\22 ", "\\": "\\5c ", "\n": "\\a ", "\r": "", "<": "\\3c ", ">": "\\3e ", "&": "\\26 "}


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string (the PDF footer's content): printed as written, hyphens and all."""
    return '"' + "".join(_CSS_ESCAPES.get(char, char) for char in str(text)) + '"'


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it draws text with are not installed."""


def render_pdf(html: str) -> bytes:
    """The report's HTML as PDF. Images are data URIs and styles inline, so nothing is fetched."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as missing:
        raise PdfUnavailable(f"PDF output needs WeasyPrint and Pango ({missing}).") from missing
    return HTML(string=html, base_url=None).write_pdf()
