"""The document paths the rule sets read: ``condition_paths`` names those one condition reads, ``rule_paths``
walks every rule-set file on disk. The write-path table (evlims/compliance/write_paths.py) must cover them all.
"""

import yaml

from .rulesets import RULESETS_DIR, available_rulesets

_CHARACTERIZATION = "characterization"
_QUANTIFICATION_FIELDS = {
    "particles": ("particle_analysis", ("concentration_per_ml", "total_particles")),
    "protein": ("protein_quantification", ("total_protein_ug", "concentration_ug_per_ml")),
    "lipid": ("lipid_quantification", ("total_lipid_nmol", "concentration_nmol_per_ml")),
    "rna": ("rna_quantification", ("total_rna_ng", "concentration_ng_per_ml")),
}
_MARKERS = f"{_CHARACTERIZATION}.markers[]"


def condition_paths(spec) -> set[str]:
    """The document paths one condition (with its children) reads. An unknown condition is an error, so a
    condition added to the vocabulary must say here what it reads."""
    ((name, args),) = spec.items()
    if name in ("all", "any"):
        return set().union(*(condition_paths(child) for child in args))
    if name == "not":
        return condition_paths(args)
    if name == "biofluid_in":
        return {"sample.biofluid"}
    if name == "field_present":
        return set([args] if isinstance(args, str) else args)
    if name in ("field_in", "field_compare"):
        return {args["field"]}
    if name == "all_items_have":
        fields = {alt for item in args["fields"] for alt in item.split("|")}
        return {args["list"]} | {f"{args['list']}[].{field}" for field in fields}
    if name == "all_items_include":
        return {args["list"], f"{args['list']}[].{args['field']}"}
    if name == "size_measured":
        base = f"{_CHARACTERIZATION}.particle_analysis"
        paths = {base} | {f"{base}[].{field}" for field in args["particle_fields"]}
        if args.get("imaging"):
            paths |= {f"{_CHARACTERIZATION}.imaging", f"{_CHARACTERIZATION}.imaging[].technique"}
        return paths
    if name in ("method_used", "separation_classified"):
        return {"separation", "separation[].method"}
    if name == "param_present_for_all_steps":
        params = {alt for names in args.values() for item in names for alt in item.split("|")}
        return {"separation[].method"} | {f"separation[].params.{param}" for param in params}
    if name in ("min_markers_in_category", "any_marker_detected_in_category", "any_marker_tested"):
        return {f"{_CHARACTERIZATION}.markers", f"{_MARKERS}.protein", f"{_MARKERS}.detected"}
    if name == "imaging_with":
        flags = {flag for flag in ("wide_field", "close_up") if args.get(flag)}
        base = f"{_CHARACTERIZATION}.imaging"
        return {base, f"{base}[].technique"} | {f"{base}[].{flag}" for flag in flags}
    if name == "particle_analysis_present":
        return {f"{_CHARACTERIZATION}.particle_analysis", f"{_CHARACTERIZATION}.particle_analysis[].method"}
    if name == "quantification_kinds":
        paths = set()
        for kind in args["kinds"]:
            section, amounts = _QUANTIFICATION_FIELDS[kind]
            paths.add(f"{_CHARACTERIZATION}.{section}")
            if args.get("with_amount"):
                paths.update(f"{_CHARACTERIZATION}.{section}[].{amount}" for amount in amounts)
        return paths
    if name == "antibodies_used":
        return {f"{_MARKERS}.method", f"{_MARKERS}.antibody", "separation[].method"}
    if name == "antibodies_fully_specified":
        fields = {alt for item in args["fields"] for alt in item.split("|")}
        return {f"{_MARKERS}.method", "separation[].params.antibodies"} | {
            f"{_MARKERS}.antibody.{field}" for field in fields
        }
    if name == "lysate_analysed":
        return {f"{_MARKERS}.lysate"}
    if name == "lysates_described":
        return {f"{_MARKERS}.lysate"} | {f"{_MARKERS}.lysate.{alt}" for item in args for alt in item.split("|")}
    raise KeyError(f"read_paths does not know which document paths the condition {name!r} reads")


def rule_paths() -> dict[str, set[str]]:
    """{document path: the rule ids (ruleset@version:ID) that read it}, over every rule-set file on disk."""
    found: dict[str, set[str]] = {}
    for name, versions in available_rulesets().items():
        for version in versions:
            data = yaml.safe_load((RULESETS_DIR / f"{name}@{version}.yaml").read_text(encoding="utf-8"))
            for rule in data["rules"]:
                for key in ("applies_when", "satisfied_when"):
                    if rule.get(key):
                        for path in condition_paths(rule[key]):
                            found.setdefault(path, set()).add(f"{name}@{version}:{rule['id']}")
    return found
