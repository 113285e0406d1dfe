import copy

import pytest


@pytest.fixture
def minimal_protocol():
    """A valid two-step document; tests copy and break it."""
    return copy.deepcopy(
        {
            "schema_version": 1,
            "slug": "test-protocol",
            "version": "1.0.0",
            "title": "Test protocol",
            "status": "draft",
            "citations": [{"text": "Test citation", "verified": False}],
            "description": "A protocol used by the tests.",
            "steps": [
                {
                    "method": "differential_centrifugation",
                    "params": {
                        "g_force": "2,000 x g",
                        "rcf_basis": "avg",
                        "duration_min": "10 min",
                        "temperature_c": "4 °C",
                        "rotor": "eppendorf-a-4-81",
                        "fraction_kept": "supernatant",
                    },
                },
                {
                    "method": "ultracentrifugation",
                    "params": {
                        "g_force": "100,000 x g",
                        "rcf_basis": "avg",
                        "duration_min": "70 min",
                        "temperature_c": "4 °C",
                        "rotor": "type-70-ti",
                        "fraction_kept": "pellet",
                        "resuspension_volume_ul": "100 µl",
                    },
                    "tolerances": {"duration_min": {"abs": "5 min"}, "g_force": {"rel": 0.05}},
                },
            ],
        }
    )
