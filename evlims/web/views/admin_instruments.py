"""A lab's instruments and their API keys: the list (kind, active keys, last use), registering an instrument,
issuing a key with the scopes ticked, and revoking one with a reason, through the instrument services.

A new key's plaintext is in the answer to the form that issued it and nowhere else: not in the session, not
in a message, not in the audit trail (only its SHA-256 is stored). That answer is not cached by the browser,
and the page's script replaces the POST in the history, so reloading shows the instrument without the key."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers

from ...instruments import services
from ...instruments.models import InstrumentApiKey
from ...instruments.selectors import api_key_get, instrument_with_keys, lab_instruments
from ..forms.lab_admin import ApiKeyIssueForm, ApiKeyRevokeForm, InstrumentRegisterForm, WatchFolderForm
from .common import member_view, run_service
from .lab_admin import admin_lab, ensure_lab_admin

WATCHED_FILES_SHOWN = 20


def _scope_names(scopes) -> list[str]:
    """A key's scopes in the lab's words, in the catalogue's order."""
    return [label for value, label in InstrumentApiKey.Scope.choices if value in scopes]


@member_view
def instruments(request, lab_pk):
    lab = admin_lab(request.user, lab_pk)
    form = InstrumentRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        instrument = run_service(
            form,
            lambda: services.instrument_register(
                actor=request.user,
                lab=lab,
                name=data["name"],
                kind=data["kind"],
                model_name=data["model_name"],
                serial_number=data["serial_number"],
                software_version=data["software_version"],
                reason=data["reason"],
            ),
        )
        if instrument is not None:
            messages.success(request, f"{instrument.name} registered. Issue it a key to let it post results.")
            return redirect("evlims:lab-admin-instrument", pk=instrument.pk)
    context = {"lab": lab, "instruments": lab_instruments(lab.pk), "form": form, "section": "instruments"}
    return render(request, "evlims/lab_admin/instruments.html", context, status=400 if form.errors else 200)


def _admin_instrument(request, pk):
    instrument = instrument_with_keys(request.user, pk)
    ensure_lab_admin(request.user, instrument.lab_id)
    return instrument


def _instrument_page(request, instrument, form, *, issued=None, status=200, watch_form=None):
    keys = [{"key": key, "scopes": _scope_names(key.scopes)} for key in instrument.api_keys.all()]
    context = {
        "lab": instrument.lab,
        "instrument": instrument,
        "keys": keys,
        "form": form,
        "issued": issued,
        "watch_form": watch_form or WatchFolderForm(instrument=instrument),
        "watched_files": instrument.watched_files.select_related("ingestion")[:WATCHED_FILES_SHOWN],
        "section": "instruments",
    }
    response = render(request, "evlims/lab_admin/instrument.html", context, status=status)
    add_never_cache_headers(response)
    return response


@member_view
def instrument_detail(request, pk):
    """The instrument's keys and the form issuing a new one; after issuing, the new key, this once."""
    instrument = _admin_instrument(request, pk)
    form = ApiKeyIssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        issued = run_service(
            form,
            lambda: services.api_key_issue(
                actor=request.user,
                instrument=instrument,
                scopes=data["scopes"],
                label=data["label"].strip(),
                reason=data["reason"],
            ),
        )
        if issued is not None:
            key, raw_key = issued
            shown = {"key": key, "raw": raw_key, "scopes": _scope_names(key.scopes)}
            return _instrument_page(request, _admin_instrument(request, pk), ApiKeyIssueForm(), issued=shown)
    return _instrument_page(request, instrument, form, status=400 if form.errors else 200)


@member_view
def instrument_watch_folder(request, pk):
    """Set or clear the folder watched for the instrument's exports."""
    instrument = _admin_instrument(request, pk)
    if request.method != "POST":
        return redirect("evlims:lab-admin-instrument", pk=instrument.pk)
    form = WatchFolderForm(request.POST, instrument=instrument)
    if form.is_valid():
        data = form.cleaned_data
        done = run_service(
            form,
            lambda: services.watch_folder_set(
                actor=request.user,
                instrument=instrument,
                folder=data["folder"],
                file_format=data["file_format"],
                read=data["read"],
                plate_layout=data["plate_layout"],
                reason=data["reason"],
            ),
            aliases={
                "watch_folder": "folder",
                "watch_format": "file_format",
                "watch_read": "read",
                "watch_plate_layout": "plate_layout",
            },
        )
        if done is not None:
            watched = f"now watches {done.watch_folder}" if done.watch_folder else "is no longer watched"
            messages.success(request, f"{instrument.name} {watched}.")
            return redirect("evlims:lab-admin-instrument", pk=instrument.pk)
    return _instrument_page(request, instrument, ApiKeyIssueForm(), watch_form=form, status=400)


def _admin_key(request, pk):
    key = api_key_get(request.user, pk)
    ensure_lab_admin(request.user, key.instrument.lab_id)
    return key


def _revoke_page(request, key, form, status=200):
    context = {
        "lab": key.instrument.lab,
        "key": key,
        "scopes": _scope_names(key.scopes),
        "form": form,
        "section": "instruments",
    }
    return render(request, "evlims/lab_admin/key_revoke.html", context, status=status)


@member_view
def key_revoke(request, pk):
    """Asks for the reason and a confirmation, then revokes: the key stops working at once."""
    key = _admin_key(request, pk)
    if request.method != "POST":
        return _revoke_page(request, key, ApiKeyRevokeForm())
    form = ApiKeyRevokeForm(request.POST)
    if key.revoked_at is not None:
        form.add_error(None, "This key is already revoked.")
    elif form.is_valid():
        run_service(
            form, lambda: services.api_key_revoke(actor=request.user, key=key, reason=form.cleaned_data["reason"])
        )
        if not form.errors:
            messages.success(request, f"Key {key.prefix}… revoked: it no longer works.")
            return redirect("evlims:lab-admin-instrument", pk=key.instrument_id)
    return _revoke_page(request, key, form, status=400)
