"""Planning mode: evaluate an experiment document (JSON file) without touching the database."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evlims.compliance import ExperimentDocumentError, RulesetError, evaluate, parse_document_text

STATUS_MARKS = {"pass": "ok  ", "fail": "FAIL", "not_applicable": "n/a ", "insufficient_data": "??  "}


class Command(BaseCommand):
    help = (
        "Check a planned or finished EV experiment (a JSON document following "
        "evlims/compliance/schema/experiment.schema.json) against MISEV2018, MISEV2023, EV-METRIC, "
        "matrix-specific purity and MIBlood-EV. Reads only the file; never the database."
    )
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="Path to the experiment JSON document.")
        parser.add_argument("--json", action="store_true", help="Print the full report as JSON.")
        parser.add_argument(
            "--ruleset",
            action="append",
            dest="rulesets",
            metavar="NAME[@VERSION]",
            help="Evaluate only this rule set (repeatable); default: every rule set at its latest version.",
        )

    def handle(self, *args, **options):
        path = Path(options["experiment"])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{path}: cannot read the experiment document ({error.strerror or error})")
        try:
            report = evaluate(parse_document_text(text), options["rulesets"], validate=False)
        except ExperimentDocumentError as error:
            lines = "\n".join(f"  {issue.path}: {issue.message}" for issue in error.issues)
            raise CommandError(f"{path}: the experiment document is invalid:\n{lines}")
        except RulesetError as error:
            raise CommandError(str(error))
        result = report.to_dict()
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(self._summary(path, result))

    def _summary(self, path: Path, result: dict) -> str:
        lines = [f"Compliance plan for {result.get('experiment_id') or path.name}"]
        grid = result["separation_class"]
        if grid["recovery"] is None:
            lines.append("Separation: not classified on the recovery x specificity grid")
        else:
            lines.append(
                f"Separation: {grid['recovery']} recovery, {grid['specificity']} specificity "
                f"(decided by {grid['decided_by']})"
            )
        for key, section in result.items():
            if key in ("experiment_id", "separation_class"):
                continue
            if "components" in section:
                score = section["score_pct"]
                lines.append("")
                lines.append(
                    f"{key} ({section['ruleset']}): {score}% ({section['points']}/{section['applicable']} applicable)"
                )
                for component, detail in section["components"].items():
                    lines.append(f"  [{detail['state']:>14}] {component}: {detail['title']}")
                    if detail["state"] == "not_met":
                        lines.append(f"                   {detail['message']}")
                continue
            failed = section["mandatory_failed"]
            lines.append("")
            lines.append(f"{key} ({section['ruleset']}): {len(failed)} mandatory rule(s) failed")
            for rule in section["rules"]:
                lines.append(f"  {STATUS_MARKS[rule['status']]} {rule['id']} [{rule['level']}] {rule['title']}")
                if rule["status"] in ("fail", "insufficient_data"):
                    lines.append(f"       {rule['message']}")
                    lines.append(f"       Fix: {rule['fix']}")
        return "\n".join(lines)
