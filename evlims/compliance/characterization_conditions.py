"""Conditions over the characterisation section: markers, imaging, particle analysis, quantification,
antibodies and lysates. A list absent from the document makes these conditions undecided."""

from collections.abc import Callable, Mapping

from .condition_args import field_alternatives, mapping_args, missing_fields, str_list
from .conditions import Condition, Outcome, condition, evidence
from .errors import RulesetError
from .markers import marker_vocabulary
from .wording import codes, field_words

MARKERS_NOT_DESCRIBED = "the protein markers are not described"
IMAGING_TECHNIQUES = frozenset({"tem", "cryo_em", "sem", "afm", "super_resolution", "other"})
PARTICLE_METHODS = frozenset({"nta", "tpa", "trps", "nanoflow", "dls", "other"})
MARKER_METHODS = frozenset({"western_blot", "elisa", "flow", "ms", "other"})

# kind -> (characterisation list, fields that carry an amount)
QUANTIFICATION_KINDS = {
    "particles": ("particle_analysis", ("concentration_per_ml", "total_particles")),
    "protein": ("protein_quantification", ("total_protein_ug", "concentration_ug_per_ml")),
    "lipid": ("lipid_quantification", ("total_lipid_nmol", "concentration_nmol_per_ml")),
    "rna": ("rna_quantification", ("total_rna_ng", "concentration_ng_per_ml")),
}


# Marker condition -> (which markers its outcome depends on, what of each beyond its place in the list: "all" it
# holds, "name", "place" alone, or a function of the marker giving it). A condition reads the markers only as
# Marker objects (protein, outcome, method, antibody, lysate, place); markers the predicate leaves out change
# nothing in its outcome. The batch evaluator keys its verdicts by exactly that (decision_keys.py).
# A condition may read less when it is a rule's whole applies_when (``as_applies``): then only an outcome other than
# true reaches a verdict (a rule that applies is decided by its satisfied_when alone).
MARKER_RELEVANCE: dict[int, tuple[Condition, Callable, str | Callable, str | Callable]] = {}


def _keyed_by_markers(
    compiled: Condition, relevant: Callable, reads: str | Callable = "all", as_applies: str | Callable | None = None
) -> Condition:
    MARKER_RELEVANCE[id(compiled)] = (compiled, relevant, reads, reads if as_applies is None else as_applies)
    return compiled


def marker_relevance(compiled: Condition, *, as_applies: bool = False) -> tuple[Callable, str | Callable] | None:
    """(which markers the outcome depends on, what of each); ``as_applies``: when the condition is a rule's whole
    applies_when."""
    entry = MARKER_RELEVANCE.get(id(compiled))
    if entry is None or entry[0] is not compiled:
        return None
    return entry[1], entry[3 if as_applies else 2]


def _detected_filter(choice, where):
    if choice not in (True, False, "any"):
        raise RulesetError(f"{where}.detected: expected true, false or any, got {choice!r}")
    return choice


def _compile_marker_count(categories, minimum, detected, where, excluding=()):
    known = marker_vocabulary().known_labels()
    unknown = sorted(set(categories) - known)
    if unknown:
        raise RulesetError(f"{where}: unknown marker categor(ies) {', '.join(unknown)}")
    unknown = sorted(set(excluding) - known)
    if unknown:
        raise RulesetError(f"{where}.excluding: unknown marker label(s) {', '.join(unknown)}")
    if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 1:
        raise RulesetError(f"{where}.min: expected a positive integer, got {minimum!r}")
    wanted, excluded = frozenset(categories), frozenset(excluding)
    outcome_word = {True: "positive", False: "negative", "any": "tested"}[detected]
    requirement = f"{minimum} {outcome_word} marker(s) in category {' or '.join(categories)}"

    def counts(marker) -> bool:
        return detected == "any" or marker.detected is detected

    undescribed = Outcome(None, (), (MARKERS_NOT_DESCRIBED,))

    def check(experiment):
        markers = experiment.markers
        if markers is None:
            return undescribed
        if detected == "any":
            in_category = [m for m in markers if m.labels & wanted]
        else:
            in_category = [m for m in markers if m.detected is detected and m.labels & wanted]
        matching = [m for m in in_category if not m.labels & excluded] if excluded else in_category
        found = tuple([(m.path, m) for m in matching])
        if len(matching) >= minimum:
            return Outcome(True, found)
        set_aside = _set_aside_note([m for m in in_category if m.labels & excluded], excluded)
        unrecognised = [m for m in markers if counts(m) and not m.recognised]
        if len(matching) + len(unrecognised) >= minimum:
            names = ", ".join(m.given_name for m in unrecognised)
            return Outcome(
                None,
                found,
                (f"{names} not in the marker vocabulary, so it cannot count towards {requirement}", *set_aside),
            )
        return Outcome(False, found, (f"found {len(matching)} of the {requirement} required", *set_aside))

    return _keyed_by_markers(
        Condition("markers", check, True), lambda m: counts(m) and (not m.labels or bool(m.labels & wanted))
    )


def _set_aside_note(markers, excluded) -> tuple[str, ...]:
    if not markers:
        return ()
    titles = marker_vocabulary().caveat_titles
    reasons = "; ".join(titles[label] for label in sorted(excluded & frozenset().union(*(m.labels for m in markers))))
    return (f"{', '.join(m.symbol for m in markers)} not counted on its own ({reasons})",)


@condition("min_markers_in_category")
def _min_markers_in_category(args, where):
    args = mapping_args(args, where, required=("categories",), optional=("min", "detected", "excluding"))
    categories = str_list(args["categories"], f"{where}.categories")
    detected = _detected_filter(args.get("detected", "any"), where)
    excluding = str_list(args["excluding"], f"{where}.excluding") if "excluding" in args else ()
    return _compile_marker_count(categories, args.get("min", 1), detected, where, excluding)


@condition("any_marker_detected_in_category")
def _any_marker_detected_in_category(args, where):
    return _compile_marker_count(str_list(args, where), 1, True, where)


@condition("any_marker_tested")
def _any_marker_tested(args, where):
    patterns = tuple(name.upper() for name in str_list(args, where))
    exact = frozenset(p for p in patterns if not p.endswith("*"))
    prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
    listed = ", ".join(patterns)

    def check(experiment):
        markers = experiment.markers
        if markers is None:
            return Outcome(None, (), (MARKERS_NOT_DESCRIBED,))
        found = tuple(evidence(m.path, m) for m in markers if m.symbol in exact or m.symbol.startswith(prefixes))
        if found:
            return Outcome(True, found)
        return Outcome(False, (), (f"none of {listed} was tested",))

    return _keyed_by_markers(
        Condition("any_marker_tested", check, True), lambda m: m.symbol in exact or m.symbol.startswith(prefixes)
    )


@condition("imaging_with")
def _imaging_with(args, where):
    args = mapping_args(args, where, required=("techniques",), optional=("wide_field", "close_up"))
    techniques = frozenset(str_list(args["techniques"], f"{where}.techniques", allowed=IMAGING_TECHNIQUES))
    needs = [flag for flag in ("wide_field", "close_up") if args.get(flag, False)]
    listed = codes(sorted(techniques), " or ")

    def check(experiment):
        images = experiment.section("imaging")
        if images is None:
            return Outcome(None, (), ("the imaging is not described",))
        relevant = [(i, image) for i, image in enumerate(images) if image["technique"] in techniques]
        if not relevant:
            return Outcome(False, (), (f"no image by {listed}",))
        found = tuple(evidence(f"characterization.imaging[{i}]", image["technique"]) for i, image in relevant)
        lacking = [
            f"no {flag.replace('_', '-')} image by {listed}"
            for flag in needs
            if not any(image.get(flag) is True for _, image in relevant)
        ]
        return Outcome(not lacking, found, tuple(lacking))

    return Condition("imaging_with", check, True)


@condition("particle_analysis_present")
def _particle_analysis_present(args, where):
    methods = PARTICLE_METHODS if args == "any" else frozenset(str_list(args, where, allowed=PARTICLE_METHODS))
    listed = codes(sorted(methods), " or ")

    def check(experiment):
        analyses = experiment.section("particle_analysis")
        if analyses is None:
            return Outcome(None, (), ("the particle analysis is not described",))
        found = tuple(
            evidence(f"characterization.particle_analysis[{i}]", entry["method"])
            for i, entry in enumerate(analyses)
            if entry["method"] in methods
        )
        if found:
            return Outcome(True, found)
        return Outcome(False, (), (f"no particle analysis by {listed}",))

    return Condition("particle_analysis_present", check, True)


SIZE_FIELDS = ("mode_size_nm", "mean_size_nm", "size_window_nm")


@condition("size_measured")
def _size_measured(args, where):
    """A particle analysis reporting a size, or (when ``imaging`` lists techniques) an image by one of them."""
    args = mapping_args(args, where, required=("particle_fields",), optional=("imaging",))
    fields = str_list(args["particle_fields"], f"{where}.particle_fields", allowed=frozenset(SIZE_FIELDS))
    techniques = frozenset()
    if "imaging" in args:
        techniques = frozenset(str_list(args["imaging"], f"{where}.imaging", allowed=IMAGING_TECHNIQUES))
    sections = ("particle_analysis", "imaging") if techniques else ("particle_analysis",)

    def check(experiment):
        analyses, images = experiment.section("particle_analysis"), experiment.section("imaging")
        found = [
            evidence(f"characterization.particle_analysis[{i}].{field}", entry[field])
            for i, entry in enumerate(analyses or ())
            for field in fields
            if field in entry
        ]
        found += [
            evidence(f"characterization.imaging[{i}]", image["technique"])
            for i, image in enumerate(images or ())
            if image["technique"] in techniques
        ]
        if found:
            return Outcome(True, tuple(found))
        undescribed = [f"characterization.{name}" for name in sections if experiment.section(name) is None]
        if undescribed:
            return Outcome(None, (), (f"{' and '.join(undescribed)} not described, so no size can be found",))
        no_image = f", and no image by {codes(sorted(techniques), ' or ')}" if techniques else ""
        reported = " or ".join(field_words(field) for field in fields)
        return Outcome(False, (), (f"no particle analysis reports {reported}{no_image}",))

    return Condition("size_measured", check, True)


@condition("quantification_kinds")
def _quantification_kinds(args, where):
    args = mapping_args(args, where, required=("min", "kinds"), optional=("with_amount",))
    kinds = str_list(args["kinds"], f"{where}.kinds", allowed=frozenset(QUANTIFICATION_KINDS))
    minimum = args["min"]
    if not isinstance(minimum, int) or isinstance(minimum, bool) or not 1 <= minimum <= len(kinds):
        raise RulesetError(f"{where}.min: expected an integer between 1 and {len(kinds)}, got {minimum!r}")
    with_amount = bool(args.get("with_amount", False))
    requirement = f"{minimum} of {', '.join(kinds)}" + (" with a reported amount" if with_amount else "")

    def check(experiment):
        found, present, undescribed = [], [], []
        for kind in kinds:
            section, amount_fields = QUANTIFICATION_KINDS[kind]
            entries = experiment.section(section)
            if entries is None:
                undescribed.append(f"characterization.{section}")
                continue
            for index, entry in enumerate(entries):
                if not with_amount or any(field in entry for field in amount_fields):
                    found.append(evidence(f"characterization.{section}[{index}]", kind))
                    present.append(kind)
                    break
        if len(present) >= minimum:
            return Outcome(True, tuple(found))
        if len(present) + len(undescribed) >= minimum:
            return Outcome(None, tuple(found), (f"{', '.join(undescribed)} not described; {requirement} needed",))
        have = ", ".join(present) or "none"
        return Outcome(False, tuple(found), (f"quantified by {have}; {requirement} needed",))

    return Condition("quantification_kinds", check, True)


def _antibody_marker_methods(args, where, *, optional=()) -> frozenset[str]:
    args = mapping_args(args, where, required=("marker_methods",), optional=optional)
    return frozenset(str_list(args["marker_methods"], f"{where}.marker_methods", allowed=MARKER_METHODS))


def _antibodies(experiment, marker_methods):
    """(path, antibody mapping or None) for every antibody the document uses or implies."""
    found = []
    for index, step in enumerate(experiment.steps):
        if step["method"] == "immunoaffinity":
            listed = (step.get("params") or {}).get("antibodies") or ()
            if not listed:
                found.append((f"separation[{index}].params.antibodies", None))
            found.extend((f"separation[{index}].params.antibodies[{i}]", ab) for i, ab in enumerate(listed))
    for marker in experiment.markers or ():
        if marker.method in marker_methods or marker.antibody is not None:
            found.append((f"{marker.path}.antibody", marker.antibody))
    return found


@condition("antibodies_used")
def _antibodies_used(args, where):
    marker_methods = _antibody_marker_methods(args, where)

    def check(experiment):
        used = _antibodies(experiment, marker_methods)
        if used:
            return Outcome(True, tuple(evidence(path, "antibody used") for path, _ in used))
        if experiment.markers is None:
            return Outcome(None, (), (MARKERS_NOT_DESCRIBED,))
        return Outcome(False, (), ("no antibody-based assay or immunoaffinity step",))

    return _keyed_by_markers(
        Condition("antibodies_used", check, True),
        lambda m: m.method in marker_methods or m.antibody is not None,
        reads="place",
    )


@condition("antibodies_fully_specified")
def _antibodies_fully_specified(args, where):
    marker_methods = _antibody_marker_methods(args, where, optional=("fields",))
    if "fields" not in args:
        raise RulesetError(f"{where}: missing argument fields")
    alternatives = field_alternatives(args["fields"], f"{where}.fields")

    def check(experiment):
        found, gaps = [], []
        for path, antibody in _antibodies(experiment, marker_methods):
            lacking = missing_fields(antibody, alternatives)
            if lacking:
                gaps.append(f"{path} lacks {', '.join(lacking)}")
            else:
                found.append(evidence(path, "antibody fully specified"))
        if gaps:
            return Outcome(False, tuple(found), tuple(gaps))
        if experiment.markers is None:
            return Outcome(None, tuple(found), (MARKERS_NOT_DESCRIBED,))
        return Outcome(True, tuple(found))

    return _keyed_by_markers(
        Condition("antibodies_fully_specified", check, True),
        lambda m: m.method in marker_methods or m.antibody is not None,
        reads=lambda m: tuple(missing_fields(m.antibody, alternatives)),
    )


@condition("lysate_analysed")
def _lysate_analysed(args, where):
    if args is not True:
        raise RulesetError(f"{where}: expected true")

    def check(experiment):
        if experiment.markers is None:
            return Outcome(None, (), (MARKERS_NOT_DESCRIBED,))
        found = tuple(
            evidence(m.path, f"{m.symbol} measured in a lysate") for m in experiment.markers if m.lysate is not None
        )
        if found:
            return Outcome(True, found)
        return Outcome(False, (), ("no marker was measured in a lysate",))

    # Its outcome names the markers measured in a lysate only when it holds; as a rule's applies_when that outcome
    # makes the rule apply without reaching the verdict, so there where the lysates are is all a key needs.
    return _keyed_by_markers(
        Condition("lysate_analysed", check, True), lambda m: m.lysate is not None, reads="name", as_applies="place"
    )


@condition("lysates_described")
def _lysates_described(args, where):
    alternatives = field_alternatives(args, where)

    def check(experiment):
        if experiment.markers is None:
            return Outcome(None, (), (MARKERS_NOT_DESCRIBED,))
        found, gaps = [], []
        for marker in experiment.markers:
            if not isinstance(marker.lysate, Mapping):
                continue
            lacking = missing_fields(marker.lysate, alternatives)
            if lacking:
                gaps.append(f"{marker.path}.lysate lacks {', '.join(lacking)}")
            else:
                found.append(evidence(f"{marker.path}.lysate", "lysate preparation described"))
        return Outcome(not gaps, tuple(found), tuple(gaps))

    return _keyed_by_markers(
        Condition("lysates_described", check, True),
        lambda m: isinstance(m.lysate, Mapping),
        reads=lambda m: tuple(missing_fields(m.lysate, alternatives)),
    )
