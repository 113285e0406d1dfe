import pytest

from protocols import ProtocolValidationError, validate_protocol


def errors_of(data):
    with pytest.raises(ProtocolValidationError) as caught:
        validate_protocol(data)
    return caught.value.errors


def test_valid_protocol_is_canonicalised_and_keeps_original_texts(minimal_protocol):
    definition = validate_protocol(minimal_protocol)
    spin = definition.steps[1]
    assert spin.number == 2
    assert spin.params["g_force"] == 100000.0
    assert spin.params["resuspension_volume_ul"] == 100.0
    assert spin.originals["g_force"] == "100,000 x g"
    assert spin.tolerances == {"duration_min": {"abs": 5.0}, "g_force": {"rel": 0.05}}
    assert definition.methods == ("differential_centrifugation", "ultracentrifugation")
    assert definition.misev_class.recovery == "intermediate"
    assert definition.content_hash.startswith("sha256:")


def test_rotor_derived_speed_and_adjusted_k_factor(minimal_protocol):
    spin = validate_protocol(minimal_protocol).steps[1]
    # 100,000 x g at r_avg 65.7 mm of the Type 70 Ti: sqrt(1e5 / (1.118e-6 * 65.7)) rpm
    assert spin.derived["speed_rpm"] == 36897
    assert spin.derived["k_factor_adjusted"] == pytest.approx(44 * (70000 / 36897.3) ** 2, abs=0.1)


def test_to_dict_round_trips_the_visible_fields(minimal_protocol):
    as_dict = validate_protocol(minimal_protocol).to_dict()
    assert as_dict["slug"] == "test-protocol"
    assert as_dict["steps"][1]["originals"]["duration_min"] == "70 min"
    assert as_dict["misev_class"]["label"].startswith("intermediate recovery")


def set_param(data, step, name, value):
    data["steps"][step - 1]["params"][name] = value
    return data


@pytest.mark.parametrize(
    ("mutate", "step", "method", "field", "fragment"),
    [
        (
            lambda d: set_param(d, 2, "duration_min", "0 min"),
            2,
            "ultracentrifugation",
            "duration_min",
            "must be greater than 0 min, got '0 min'",
        ),
        (
            lambda d: set_param(d, 1, "duration_min", -5),
            1,
            "differential_centrifugation",
            "duration_min",
            "must be greater than 0 min, got -5",
        ),
        (
            lambda d: set_param(d, 2, "resuspension_volume_ul", "0 µl"),
            2,
            "ultracentrifugation",
            "resuspension_volume_ul",
            "must be greater than 0 µL",
        ),
        (
            lambda d: set_param(d, 2, "temperature_c", "-300 °C"),
            2,
            "ultracentrifugation",
            "temperature_c",
            "below absolute zero",
        ),
        (
            lambda d: set_param(d, 2, "g_force", "600,000 x g"),
            2,
            "ultracentrifugation",
            "g_force",
            "exceeds what rotor Type 70 Ti reaches at its maximum speed",
        ),
        (
            lambda d: set_param(d, 2, "speed_rpm", 80000),
            2,
            "ultracentrifugation",
            "speed_rpm",
            "exceeds the maximum speed of rotor Type 70 Ti",
        ),
        (
            lambda d: set_param(d, 1, "g_force", "5,000 x g"),
            1,
            "differential_centrifugation",
            "g_force",
            "exceeds what rotor A-4-81 reaches",
        ),
        (lambda d: set_param(d, 2, "rotor", "sw-99"), 2, "ultracentrifugation", "rotor", "unknown rotor 'sw-99'"),
        (
            lambda d: set_param(d, 2, "spin_colour", "blue"),
            2,
            "ultracentrifugation",
            "spin_colour",
            "unknown parameter",
        ),
        (
            lambda d: set_param(d, 2, "fraction_kept", "pelet"),
            2,
            "ultracentrifugation",
            "fraction_kept",
            "must be one of pellet, supernatant",
        ),
        (
            lambda d: set_param(d, 2, "duration_min", "overnight"),
            2,
            "ultracentrifugation",
            "duration_min",
            "does not start with a number",
        ),
        (lambda d: set_param(d, 2, "washes", 1.5), 2, "ultracentrifugation", "washes", "must be of type integer"),
        (
            lambda d: d["steps"][1]["params"].pop("g_force") and d,
            2,
            "ultracentrifugation",
            "g_force",
            "required parameter is missing",
        ),
    ],
)
def test_invalid_step_parameters_name_step_method_and_field(minimal_protocol, mutate, step, method, field, fragment):
    errors = errors_of(mutate(minimal_protocol))
    matching = [e for e in errors if (e["step"], e["method"], e["field"]) == (step, method, field)]
    assert matching, errors
    assert fragment in matching[0]["message"]
    assert matching[0]["message"].startswith(f"step {step} ({method}), field '{field}'")


def step_doc(minimal_protocol, step):
    minimal_protocol["steps"] = [step]
    return minimal_protocol


@pytest.mark.parametrize(
    ("step", "field", "fragment"),
    [
        (
            {
                "method": "density_gradient",
                "params": {
                    "medium": "iodixanol",
                    "loading": "bottom_up",
                    "g_force": 100000,
                    "duration_min": 960,
                    "fractions_collected": 12,
                    "ev_fractions": [6, 13],
                },
            },
            "ev_fractions",
            "fraction(s) 13 out of range 1..12",
        ),
        (
            {
                "method": "density_gradient",
                "params": {
                    "medium": "iodixanol",
                    "loading": "bottom_up",
                    "g_force": 100000,
                    "duration_min": 960,
                    "fraction_density_g_ml": [1.12, 1.08],
                },
            },
            "fraction_density_g_ml",
            "range low > high",
        ),
        (
            {
                "method": "sec",
                "params": {"resin": "Sepharose CL-2B", "fractions_collected": 26, "fractions_pooled": [25, 26, 27]},
            },
            "fractions_pooled",
            "fraction(s) 27 out of range 1..26",
        ),
        ({"method": "sec", "params": {"buffer": "PBS"}}, "resin", "give at least one of resin, column"),
        (
            {"method": "sec", "params": {"resin": "CL-2B", "fractions_pooled": [0]}},
            "fractions_pooled",
            "item 1: must be at least 1",
        ),
        (
            {"method": "ultrafiltration", "params": {"mode": "tff", "mwco_kda": "300 kDa", "g_force": 3000}},
            "g_force",
            "only applies when mode is centrifugal",
        ),
        (
            {"method": "precipitation", "params": {"reagent": "PEG", "sample_to_reagent_ratio": "one to one"}},
            "sample_to_reagent_ratio",
            "does not match the required pattern",
        ),
        (
            {"method": "precipitation", "params": {"reagent": "PEG", "incubation_time_min": "0 h"}},
            "incubation_time_min",
            "must be greater than 0 min",
        ),
        (
            {"method": "filtration", "params": {"pore_size_um": "0.22 kDa"}},
            "pore_size_um",
            "not a unit convertible to µm",
        ),
        (
            {
                "method": "immunoaffinity",
                "params": {"target_antigens": ["CD9"], "antibodies": [{"target": "CD63", "clone": "H5C6"}]},
            },
            "antibodies",
            "antibody 1 targets CD63, which is not in target_antigens",
        ),
        (
            {"method": "immunoaffinity", "params": {"target_antigens": ["cd9"]}},
            "target_antigens",
            "does not match the required pattern",
        ),
        ({"method": "kit", "params": {"manufacturer": "Acme"}}, "kit_name", "required parameter is missing"),
        (
            {
                "method": "ultracentrifugation",
                "params": {"g_force": 1000, "duration_min": 5, "fraction_kept": "pellet"},
                "tolerances": {"fraction_kept": {"abs": 1}},
            },
            "tolerances.fraction_kept",
            "only to numeric parameters",
        ),
        (
            {
                "method": "ultracentrifugation",
                "params": {"g_force": 1000, "duration_min": 5, "fraction_kept": "pellet"},
                "tolerances": {"duration_min": {"abs": -1}},
            },
            "tolerances.duration_min.abs",
            "must not be negative",
        ),
        (
            {
                "method": "ultracentrifugation",
                "params": {"g_force": 1000, "duration_min": 5, "fraction_kept": "pellet"},
                "tolerances": {"duration_min": {"within": 1}},
            },
            "tolerances.duration_min",
            "'abs' and/or 'rel'",
        ),
        (
            {
                "method": "ultracentrifugation",
                "params": {"g_force": 1000, "duration_min": 5, "fraction_kept": "pellet"},
                "colour": "red",
            },
            "colour",
            "unknown step key",
        ),
    ],
)
def test_method_specific_errors(minimal_protocol, step, field, fragment):
    errors = errors_of(step_doc(minimal_protocol, step))
    matching = [e for e in errors if e["field"] == field]
    assert matching, errors
    assert matching[0]["step"] == 1 and matching[0]["method"] == step["method"]
    assert fragment in matching[0]["message"]


def test_unknown_method_is_refused_naming_the_step(minimal_protocol):
    minimal_protocol["steps"][1]["method"] = "centrifuge"
    [error] = errors_of(minimal_protocol)
    assert (error["step"], error["field"]) == (2, "method")
    assert "unknown method 'centrifuge'" in error["message"]


def test_other_method_accepts_free_parameters_as_written(minimal_protocol):
    minimal_protocol["steps"] = [
        {"method": "other", "params": {"technique": "AF4", "cross_flow": "1 mL/min", "channel": 350}}
    ]
    step = validate_protocol(minimal_protocol).steps[0]
    assert step.params == {"technique": "AF4", "cross_flow": "1 mL/min", "channel": 350}


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (lambda d: d.update(version="1.0") or d, "version", "does not match"),
        (lambda d: d.update(slug="Bad Slug") or d, "slug", "does not match"),
        (lambda d: d.update(status="approved") or d, "status", "is not one of"),
        (lambda d: d.pop("citations") and d, "citations", "required field is missing"),
        (lambda d: d.update(steps=[]) or d, "steps", "should be non-empty"),
        (lambda d: d.update(owner="me") or d, "owner", "unknown field"),
        (
            lambda d: d.update(citations=[{"text": "x", "verified": False, "doi": "doi:10.1"}]) or d,
            "citations.1.doi",
            "does not match",
        ),
    ],
)
def test_document_level_errors_name_the_field(minimal_protocol, mutate, field, fragment):
    errors = errors_of(mutate(minimal_protocol))
    matching = [e for e in errors if e["field"] == field]
    assert matching, errors
    assert matching[0]["step"] is None
    assert fragment in matching[0]["message"]


def test_unsupported_schema_version_is_refused(minimal_protocol):
    minimal_protocol["schema_version"] = 2
    [error] = errors_of(minimal_protocol)
    assert error["field"] == "schema_version"


def test_non_mapping_document_is_refused():
    assert "must be a mapping" in errors_of(["not", "a", "mapping"])[0]["message"]


def test_all_errors_are_reported_together(minimal_protocol):
    set_param(minimal_protocol, 1, "duration_min", 0)
    set_param(minimal_protocol, 2, "rotor", "nope")
    fields = {(e["step"], e["field"]) for e in errors_of(minimal_protocol)}
    assert {(1, "duration_min"), (2, "rotor")} <= fields


def test_error_string_lists_every_message(minimal_protocol):
    set_param(minimal_protocol, 1, "duration_min", 0)
    with pytest.raises(ProtocolValidationError, match=r"step 1 \(differential_centrifugation\), field 'duration_min'"):
        validate_protocol(minimal_protocol)


def test_other_method_needs_no_particular_parameter(minimal_protocol):
    minimal_protocol["steps"] = [{"method": "other", "params": {}}]
    assert validate_protocol(minimal_protocol).steps[0].params == {}
