"""Exports: verdicts as CSV, preparations and studies as portable experiment documents, and an
EV-TRACK-style checklist answered from the evidence.

The experiment documents are built by ``compliance.evidence.experiment_documents``, exactly what the evaluator reads,
so an exported file evaluated offline (``manage.py evlims_evaluate``) gives the verdicts the pages show.
"""

import csv
import io
import json

from django.utils import timezone

from ...compliance.evaluator import evaluate
from ...compliance.evidence import experiment_documents, preparations_with_evidence
from ...compliance.selectors import evaluation_of, rules_for
from ...compliance.wording import describe, field_words
from ...core.spreadsheets import neutralise
from .compliance import SECTION_TITLES, SECTIONS

EXPORT_FORMAT = "evlims-experiments/1"

VERDICT_COLUMNS = (
    "preparation",
    "run",
    "project",
    "ruleset",
    "rule_id",
    "title",
    "level",
    "status",
    "message",
    "evidence",
    "fix",
    "evaluated_at",
    "evidence_hash",
)
CHECKLIST_COLUMNS = ("preparation", "section", "item", "answer", "value", "source")


def csv_text(columns, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(row.get(column)) for column in columns])
    return buffer.getvalue()


def _evidence_text(evidence) -> str:
    """What a rule was judged on, in words, each with the document path it came from."""
    return "; ".join(
        f"{item.get('label') or item['path']}: {item['detail']} [{item['path']}]" for item in evidence or []
    )


def verdict_rows(preparations) -> list[dict]:
    """One row per preparation × rule (EV-METRIC components give their met / not met state as status).

    Preparations must come with their full evaluation (selectors.preparations_with_evaluations(full=True)).
    """
    rows = []
    for preparation in preparations:
        base = {
            "preparation": preparation.barcode,
            "run": preparation.run.code,
            "project": preparation.run.project.code,
        }
        evaluation = evaluation_of(preparation)
        if evaluation is None:
            rows.append(base | {"status": "not_evaluated", "message": "No evaluation is stored yet."})
            continue
        base |= {"evaluated_at": evaluation.evaluated_at.isoformat(), "evidence_hash": evaluation.evidence_hash}
        report = evaluation.full_report or {}
        rules = rules_for(evaluation.rulesets)
        metric = report.get("ev_metric") or {}
        for component_id, component in (metric.get("components") or {}).items():
            rule = rules.get(("ev_metric", component_id))
            rows.append(
                base
                | {
                    "ruleset": metric.get("ruleset"),
                    "rule_id": component_id,
                    "title": component["title"],
                    "level": rule.level if rule else "",
                    "status": component["state"],
                    "message": component["message"],
                    "evidence": _evidence_text(component.get("evidence")),
                    "fix": component.get("fix") or "",
                }
            )
        for key, _title in SECTIONS:
            part = report.get(key) or {}
            for rule in part.get("rules", []):
                rows.append(
                    base
                    | {
                        "ruleset": part.get("ruleset"),
                        "rule_id": rule["id"],
                        "title": rule["title"],
                        "level": rule["level"],
                        "status": rule["status"],
                        "message": rule["message"],
                        "evidence": _evidence_text(rule.get("evidence")),
                        "fix": rule.get("fix") or "",
                    }
                )
    return rows


def current_documents(preparation_ids) -> list[dict]:
    """Experiment documents of the preparations as their records stand now, in barcode order."""
    preparations = sorted(preparations_with_evidence(preparation_ids), key=lambda p: p.barcode)
    documents = experiment_documents(preparations)
    return [documents[preparation.pk] for preparation in preparations]


def study_export(project, preparation_ids) -> dict:
    """A project as a study: its label and every preparation's experiment document."""
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "study": {"project": project.code, "title": project.title, "lab": project.lab.name},
        "experiments": current_documents(preparation_ids),
    }


def json_text(content) -> str:
    # Keys keep the builder's order: the evaluator quotes parts of the document in its evidence, so a
    # reordered export would evaluate to the same statuses but differently worded evidence.
    return json.dumps(content, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- EV-TRACK-style checklist

# (section, item, document path): reporting items answered by the value the document holds there.
SAMPLE_ITEMS = (
    ("Sample", "Biofluid or source", "sample.biofluid"),
    ("Sample", "Volume of starting material (mL)", "sample.volume_ml"),
    ("Sample", "Anticoagulant", "sample.anticoagulant"),
    ("Sample", "Time from collection to processing (h)", "sample.processing_delay_h"),
    ("Sample", "Pre-processing centrifugation", "sample.centrifugation_spins"),
    ("Sample", "Storage temperature (°C)", "sample.storage_temperature_c"),
    ("Sample", "Freeze–thaw cycles before separation", "sample.freeze_thaw_cycles"),
    ("Sample", "Urine collection", "sample.urine_collection"),
    ("Sample", "Cell line", "sample.cell_line"),
    ("Sample", "EV-depleted serum in the culture medium", "sample.serum_ev_depleted"),
)
CHARACTERISATION_ITEMS = (
    ("Characterisation", "Particle analysis", "characterization.particle_analysis"),
    ("Characterisation", "Protein quantification", "characterization.protein_quantification"),
    ("Characterisation", "Proteins analysed", "characterization.markers"),
    ("Characterisation", "Imaging", "characterization.imaging"),
    ("Characterisation", "Lipid quantification", "characterization.lipid_quantification"),
    ("Characterisation", "RNA quantification", "characterization.rna_quantification"),
)
# The items only some samples have: shown as not applicable for the others rather than "not reported".
BLOOD = {"blood_plasma", "serum", "whole_blood"}
APPLIES_TO = {
    "sample.anticoagulant": BLOOD,
    "sample.urine_collection": {"urine"},
    "sample.cell_line": {"cell_culture_medium"},
    "sample.serum_ev_depleted": {"cell_culture_medium"},
}
LIST_SUMMARY_KEYS = ("protein", "technique", "assay", "method")


def _at(document: dict, path: str):
    value = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _summarise(path: str, value) -> str:
    """A reported value as text: lists of results by what they are (protein, technique…), the rest in words."""
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        parts = []
        for item in value:
            label = next((describe(key, item[key]) for key in LIST_SUMMARY_KEYS if key in item), "")
            if "detected" in item:
                label += " (detected)" if item["detected"] else " (not detected)"
            parts.append(label or describe(path, item))
        if parts and all(parts):
            return "; ".join(parts)
    return describe(path, value)


def _step_rows(document: dict) -> list[dict]:
    rows = []
    for index, step in enumerate(document.get("separation", []), start=1):
        params = step.get("params") or {}
        value = "; ".join(f"{field_words(name)}: {describe(name, params[name])}" for name in sorted(params))
        rows.append(
            {
                "section": "Separation",
                "item": f"Step {index}: {step['method'].replace('_', ' ')}",
                "answer": "reported" if params else "method only",
                "value": value,
                "source": f"separation[{index - 1}]",
            }
        )
    if not rows:
        rows.append(
            {"section": "Separation", "item": "Separation steps", "answer": "not reported", "value": "", "source": ""}
        )
    return rows


def checklist(document: dict) -> list[dict]:
    """The checklist of one experiment document: reporting items with their value and where it is in the
    document, then the nine EV-METRIC components with their state and the evidence they were judged on."""
    biofluid = _at(document, "sample.biofluid")
    rows = [_reported(section, item, path, document, biofluid) for section, item, path in SAMPLE_ITEMS]
    rows.extend(_step_rows(document))
    rows.extend(_reported(section, item, path, document, biofluid) for section, item, path in CHARACTERISATION_ITEMS)
    metric = evaluate(document, ["ev_metric"]).ev_metric
    for verdict in metric.verdicts:
        evidence = verdict.evidence_dicts()
        rows.append(
            {
                "section": SECTION_TITLES["ev_metric"],
                "item": verdict.title,
                "answer": str(metric.components[verdict.rule_id]).replace("_", " "),
                "value": "; ".join(item["detail"] for item in evidence) or verdict.message,
                "source": "; ".join(item["path"] for item in evidence),
            }
        )
    return rows


def _reported(section, item, path, document, biofluid) -> dict:
    value = _at(document, path)
    applies = APPLIES_TO.get(path)
    if applies is not None and biofluid not in applies:
        answer, text, source = "not applicable", "", ""
    elif value in (None, "", [], {}):
        answer, text, source = "not reported", "", ""
    else:
        answer, text, source = "reported", _summarise(path, value), path
    return {"section": section, "item": item, "answer": answer, "value": text, "source": source}


def checklist_rows(documents) -> list[dict]:
    """Checklist rows of many documents, each row labelled with its preparation."""
    return [{"preparation": document.get("id", "")} | row for document in documents for row in checklist(document)]
