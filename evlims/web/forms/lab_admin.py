"""Lab administration: adding a member and changing their role or removing them, registering an instrument,
issuing and revoking its API keys. Every form that changes a record asks why; the reason goes to the audit
trail. Roles and key scopes are offered with what each allows, in the lab's words."""

from django import forms
from django.utils.html import format_html

from ...core.models import Role
from ...core.selectors import accounts_named
from ...instruments.models import Instrument, InstrumentApiKey, PlateLayout
from ...instruments.services.watch import watch_root
from .uploads import FORMAT_CHOICES, FORMAT_LABELS

ROLE_HELP = {
    Role.LAB_STAFF: "registers and changes samples, runs and results",
    Role.QA_MANAGER: "reviews, verifies and approves; reads everything",
    Role.LAB_ADMIN: "everything lab staff do, the QA review, and these pages: members, instruments and keys",
    Role.INSTRUMENT: "an account made for a machine: posts results and files through the API, opens no page",
}
SCOPE_HELP = {
    InstrumentApiKey.Scope.RESULTS_WRITE: "send results and instrument files for the lab's preparations",
    InstrumentApiKey.Scope.READ: "read the lab's instruments, results and preparations",
}


def role_choices():
    return [(value, f"{label} — {ROLE_HELP[value]}") for value, label in Role.choices]


def scope_choices():
    return [
        (value, format_html("<strong>{}</strong>: {}", label, SCOPE_HELP[value]))
        for value, label in InstrumentApiKey.Scope.choices
    ]


def reason_field(*, required: bool, missing: str = "", help_text: str = "Kept in the audit trail."):
    return forms.CharField(
        label="Reason" if required else "Reason (optional)",
        required=required,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=help_text,
        error_messages={"required": missing},
    )


class MemberAddForm(forms.Form):
    login = forms.CharField(
        label="Username or e-mail address",
        max_length=254,
        help_text="The person must already have an account on this site.",
        error_messages={"required": "Give the username or e-mail address of the person to add."},
    )
    role = forms.ChoiceField(label="Role", choices=role_choices, error_messages={"required": "Choose a role."})
    reason = reason_field(required=True, missing="Say why this person joins the lab.")

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {membership.user_id: membership for membership in members}

    def clean_login(self):
        login = self.cleaned_data["login"].strip()
        found = accounts_named(login)
        if not found:
            raise forms.ValidationError(f"No active account has the username or e-mail address “{login}”.")
        if len(found) > 1:
            raise forms.ValidationError(
                f"Several accounts share the e-mail address “{login}”: give the username instead."
            )
        user = found[0]
        if user.pk in self.members:
            held = self.members[user.pk].get_role_display()
            raise forms.ValidationError(
                f"{user.get_username()} is already a member of this lab ({held}): change their role in the list."
            )
        self.user = user
        return login


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="New role", choices=Role.choices, error_messages={"required": "Choose a role."})
    reason = reason_field(required=True, missing="Say why the role changes.")

    def __init__(self, *args, membership=None, **kwargs):
        # Shown on one page with the removal form: ids of their own, so each label names its own field.
        kwargs.setdefault("auto_id", "role_%s")
        super().__init__(*args, **kwargs)
        self.membership = membership

    def clean_role(self):
        role = self.cleaned_data["role"]
        if self.membership is not None and role == self.membership.role:
            raise forms.ValidationError(f"{self.membership.user.get_username()} already has this role.")
        return role


class MemberRemoveForm(forms.Form):
    reason = reason_field(required=True, missing="Say why this person leaves the lab.")
    confirm = forms.BooleanField(
        label="Remove this person from the lab: they lose access to its records at once (what they recorded stays)",
        error_messages={"required": "Tick the box to confirm the removal."},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "remove_%s")
        super().__init__(*args, **kwargs)


class InstrumentRegisterForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=120,
        help_text="How the lab calls it, unique in the lab (e.g. “NS300 room 2.14”).",
        error_messages={"required": "Give the instrument a name."},
    )
    kind = forms.ChoiceField(
        label="Kind", choices=Instrument.Kind.choices, error_messages={"required": "Choose the kind of instrument."}
    )
    model_name = forms.CharField(label="Model", max_length=120, required=False)
    serial_number = forms.CharField(label="Serial number", max_length=80, required=False)
    software_version = forms.CharField(label="Software version", max_length=80, required=False)
    reason = reason_field(required=False)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the instrument a name.")
        return name


class ApiKeyIssueForm(forms.Form):
    scopes = forms.MultipleChoiceField(
        label="What the key may do",
        choices=scope_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one thing the key may do."},
    )
    label = forms.CharField(
        label="Label (optional)",
        max_length=120,
        required=False,
        help_text="Where the key is kept, to tell keys apart (e.g. “acquisition PC”).",
    )
    reason = reason_field(required=False)


class ApiKeyRevokeForm(forms.Form):
    reason = reason_field(required=True, missing="Say why the key is revoked.")
    confirm = forms.BooleanField(
        label="Revoke this key: anything still using it is refused from now on, and it cannot be turned back on",
        error_messages={"required": "Tick the box to confirm the revocation."},
    )


class WatchFolderForm(forms.Form):
    """Where the instrument PC drops its exports, and how evlims reads what it finds there."""

    folder = forms.CharField(
        label="Watched folder",
        max_length=500,
        required=False,
        help_text="A folder under the site's watch root, named relative to it (e.g. plate-reader-2.14). Empty: not "
        "watched. Files are read, never moved or deleted.",
    )
    file_format = forms.ChoiceField(
        label="Format", choices=[(key, FORMAT_LABELS.get(key, label)) for key, label in FORMAT_CHOICES]
    )
    read = forms.CharField(
        label="Read (Gen5, EnVision)",
        max_length=120,
        required=False,
        help_text="The absorbance plate of files holding several: Read 1:562, Absorbance @ 562 (1.0s) or 562.",
    )
    plate_layout = forms.ModelChoiceField(
        queryset=PlateLayout.objects.none(),
        required=False,
        label="Plate layout",
        empty_label="None (the plate is shown, not quantified)",
        help_text="Plate readers: where the standards, blanks and samples are, as saved on the plate layouts page.",
    )
    reason = reason_field(required=False)

    def __init__(self, *args, instrument, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plate_layout"].queryset = PlateLayout.objects.filter(
            lab_id=instrument.lab_id, retired_at__isnull=True
        ).order_by("name")
        root = watch_root()
        self.fields["folder"].help_text = (
            f"A folder under {root}, named relative to it. Empty: not watched. Files are read, never moved or deleted."
            if root
            else "This site has no watch root (the EVLIMS_WATCH_ROOT setting): no folder can be watched yet."
        )
        if not self.is_bound:
            folder = instrument.watch_folder
            if root and folder.startswith(f"{root}/"):
                folder = folder[len(str(root)) + 1 :]
            self.initial.update(
                folder=folder,
                file_format=instrument.watch_format or "auto",
                read=instrument.watch_read,
                plate_layout=instrument.watch_plate_layout_id,
            )
