"""Every field a form shows has a label in the lab's words: a field whose name carries a unit never reads as
its name spelt out ("Volume ml", "Processing temperature c"); its label names the unit the lab writes."""

import importlib
import inspect
import pkgutil

from django import forms
from django.forms.utils import pretty_name

import evlims.web.forms

UNIT_SUFFIXES = ("_ml", "_ul", "_c", "_g", "_nm", "_pct", "_mg", "_ug", "_h", "_min", "_a414", "_percent")


def every_form():
    for module_info in pkgutil.iter_modules(evlims.web.forms.__path__):
        module = importlib.import_module(f"evlims.web.forms.{module_info.name}")
        for _, form in inspect.getmembers(module, inspect.isclass):
            if issubclass(form, forms.BaseForm) and form.__module__ == module.__name__:
                yield form


def machine_labels(form) -> list[str]:
    found = []
    for name, field in getattr(form, "base_fields", {}).items():
        if not name.endswith(UNIT_SUFFIXES):
            continue
        shown = str(field.label) if field.label else pretty_name(name)
        if shown.lower() == name.replace("_", " ").lower():
            found.append(f"{form.__module__}.{form.__name__}.{name}: {shown!r}")
    return found


def test_no_form_field_with_a_unit_reads_as_its_name():
    found = [label for form in every_form() for label in machine_labels(form)]
    assert found == []


def test_the_check_finds_a_label_made_from_a_field_name():
    class Raw(forms.Form):
        volume_ml = forms.FloatField()
        hemolysis_a414 = forms.FloatField(label="Haemolysis (A414)")

    assert machine_labels(Raw) == [f"{__name__}.Raw.volume_ml: 'Volume ml'"]


def test_model_fields_with_units_carry_them_in_their_verbose_name():
    from django.apps import apps

    raw = [
        f"{model.__name__}.{field.name}"
        for model in apps.get_app_config("evlims").get_models()
        for field in model._meta.concrete_fields
        if field.name.endswith(UNIT_SUFFIXES) and str(field.verbose_name) == field.name.replace("_", " ")
    ]
    assert raw == []


def test_run_step_fields_are_labelled_from_the_protocol_catalogue():
    from evlims.web.forms.run_steps import StepRecordForm

    form = StepRecordForm(definition={"method": "differential_centrifugation", "params": {"g_force": 2000}})
    assert form.fields["g_force"].label == "Speed (× g)"
    assert form.fields["temperature_c"].label == "Temperature (°C)"
    assert form.fields["k_factor"].label == "k-factor"
    assert ("avg", "avg") not in form.fields["rcf_basis"].choices


def test_an_unreadable_quantity_is_named_in_words():
    from protocols.messages import placed_errors
    from protocols.steps import canonicalise_params

    errors = canonicalise_params("differential_centrifugation", {"temperature_c": "room temp"}, 1)[2]
    assert [row["text"] for row in placed_errors(errors)] == [
        "Step 1, Temperature: “room temp” is not a temperature; enter a number in °C"
    ]
