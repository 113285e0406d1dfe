"""Sample list, sample detail, intake and edit."""

from django.contrib import messages
from django.shortcuts import redirect, render

from ...core.ids import parse_id
from ...core.tenancy import WRITER_ROLES, labs_where
from ...samples import imports, selectors, services
from ...samples.quality import aliquot_flags, quality_flags
from ...samples.sprec import sprec_code
from ..forms.samples import PREANALYTICAL_GROUPS, SampleEditForm, SampleIntakeForm, SampleSearchForm
from ..presenters import preanalytical_sections
from . import list_specs
from .approvals import affected_approvals, reason_required_when_locked
from .common import ensure_writer, member_view, run_service, save_versioned_edit, scoped
from .lists import list_response


@member_view
def sample_list(request):
    form = SampleSearchForm(request.GET or None, user=request.user)
    samples = None
    if not form.is_bound:
        samples = selectors.sample_list(request.user)
    elif form.is_valid():
        data = form.cleaned_data
        samples = selectors.sample_list(
            request.user,
            search=data["q"].strip(),
            biofluid=data["biofluid"],
            project=data["project"],
            collected_from=data["collected_from"],
            collected_to=data["collected_to"],
            flag=data["flag"],
        )
    batch, refused = _import_batch(request)
    if batch is not None and samples is not None:
        samples = samples.filter(pk__in=imports.import_sample_ids(batch))
    response = list_response(
        request, list_specs.SAMPLES, samples, "evlims/samples/list.html", {"form": form, "import_batch": batch}
    )
    if refused:
        response.status_code = 400
    return response


def _import_batch(request):
    """The import whose samples are listed (?import=<id>, one of the user's labs' imports), and whether the
    value was refused (not an import number: said in a message, the list is shown unfiltered)."""
    text = request.GET.get("import", "").strip()
    if not text:
        return None, False
    import_id = parse_id(text)
    if import_id is None:
        messages.error(request, f"import: '{text[:40]}' is not an import number; all samples are listed.")
        return None, True
    return imports.import_get(request.user, import_id), False


def _form_context(form, **extra):
    return {"form": form, "groups": PREANALYTICAL_GROUPS, **extra}


def _intake_initial(request) -> dict:
    """Donor (and its project) preselected when intake is opened from a donor's page: `?donor=<id>`.
    Only a donor the form offers (the user's writable labs) is preselected; anything else opens it blank."""
    donor_id = parse_id(request.GET.get("donor", ""))
    if request.method != "GET" or donor_id is None:
        return {}
    donor = (
        selectors.donors_for(request.user)
        .filter(pk=donor_id, lab_id__in=labs_where(request.user, WRITER_ROLES))
        .first()
    )
    if donor is None:
        return {}
    return {"donor": donor.pk, **({"project": donor.project_id} if donor.project_id else {})}


@member_view
def sample_create(request):
    ensure_writer(request.user)
    form = SampleIntakeForm(request.POST or None, user=request.user, initial=_intake_initial(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        record = {name: data[name] for name in form._meta.fields if name not in ("project", "biofluid", "volume_ml")}
        sample = run_service(
            form,
            lambda: services.sample_register(
                actor=request.user,
                project=data["project"],
                biofluid=data["biofluid"],
                volume_ml=data["volume_ml"],
                barcode=data["barcode"],
                aliquot_volumes_ul=form.aliquot_volumes(),
                box=data["box"],
                reason="Registered at intake",
                **record,
            ),
            aliases={"volumes_ul": "aliquot_volume_ul"},
        )
        if sample is not None:
            messages.success(request, f"Sample {sample.barcode} registered.")
            return redirect("evlims:sample-detail", pk=sample.pk)
    return render(request, "evlims/samples/form.html", _form_context(form, title="Register a sample"))


@member_view
def sample_edit(request, pk):
    sample = scoped(selectors.sample_get, request.user, pk)
    ensure_writer(request.user)
    form = SampleEditForm(request.POST or None, instance=sample, user=request.user)
    approvals = affected_approvals(sample=sample)
    reason_required_when_locked(form, approvals)
    saved = save_versioned_edit(
        request,
        form,
        stored=lambda: selectors.sample_get(request.user, pk),
        update=lambda record, **edit: services.sample_update(sample=record, **edit),
    )
    if saved is not None:
        messages.success(request, f"Sample {saved.barcode} saved.")
        return redirect("evlims:sample-detail", pk=saved.pk)
    return render(
        request,
        "evlims/samples/form.html",
        _form_context(form, title=f"Edit sample {sample.barcode}", sample=sample, affected_approvals=approvals),
    )


@member_view
def sample_detail(request, pk):
    sample = scoped(selectors.sample_get, request.user, pk)
    aliquots = selectors.sample_aliquots(sample)
    for aliquot in aliquots:
        aliquot.flags = aliquot_flags(aliquot)
    context = {
        "sample": sample,
        "sections": preanalytical_sections(sample),
        "flags": quality_flags(sample),
        "sprec": sprec_code(sample),
        "aliquots": aliquots,
        "lineage": selectors.lineage_tree(aliquots),
        "timeline": selectors.custody_timeline(aliquots),
        "stored": [a for a in aliquots if a.box_id],
        "can_write": sample.lab_id in labs_where(request.user, WRITER_ROLES),
    }
    return render(request, "evlims/samples/detail.html", context)
