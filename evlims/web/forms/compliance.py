"""QA forms: the review queue's filters, submitting a record for review, and electronic signatures.

Forms read and check input; the review services re-authenticate, decide who may sign and store the
signature.
"""

from django import forms

from ...compliance import selectors
from ...review import selectors as review_selectors
from ...samples.vocabulary import biofluid_choices

AGE_CHOICES = (
    ("", "Any age"),
    ("1", "Waiting more than 1 day"),
    ("3", "Waiting more than 3 days"),
    ("7", "Waiting more than a week"),
    ("30", "Waiting more than 30 days"),
)


class QueueFilterForm(forms.Form):
    project = forms.ModelChoiceField(required=False, queryset=None, empty_label="Any project")
    method = forms.ChoiceField(required=False, label="Separation method")
    biofluid = forms.ChoiceField(required=False)
    failing_rule = forms.ChoiceField(required=False, label="Failing rule")
    age = forms.TypedChoiceField(required=False, choices=AGE_CHOICES, coerce=int, empty_value=None, label="Age")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = review_selectors.queue_projects(user)
        self.fields["project"].label_from_instance = lambda project: f"{project.code} — {project.title}"
        methods = review_selectors.queue_methods(user)
        self.fields["method"].choices = [("", "Any method")] + [(m, m.replace("_", " ")) for m in methods]
        self.fields["biofluid"].choices = [("", "Any biofluid"), *biofluid_choices()]
        self.fields["failing_rule"].choices = [("", "Any rule"), *selectors.rule_choices()]


class SubmitForReviewForm(forms.Form):
    """A note for the reviewers; for a preparation with mandatory failures also the justification. The form
    shows the field; the service decides that it is required (after the role and open-review checks) and its
    refusal is shown on the field."""

    field_order = ["justification", "note"]

    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 1, "class": "form-control form-control-sm", "cols": 40}),
        label="Note for the reviewers",
        help_text="Optional: anything the reviewers should know.",
    )
    justification = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        label="Justification for the mandatory failures",
        help_text="Why it should be reviewed as it is although it fails the mandatory rules listed above. "
        "The reviewers see it and their signatures cover it.",
    )

    def __init__(self, *args, failures=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.failures = list(failures)
        if not self.failures:
            del self.fields["justification"]


class SignatureForm(forms.Form):
    """Re-authentication and the signer's own statement of what the signature means."""

    statement = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        label="Statement of meaning",
        help_text="In your own words: what you checked and what your signature means.",
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "class": "form-control"}),
        label="Your password",
        help_text="Signing asks for your password again.",
    )

    def __init__(self, *args, action: str, provider: str = "", **kwargs):
        """``provider``: the identity provider a single sign-on signer re-authenticates at, instead of a password."""
        kwargs.setdefault("prefix", action)
        super().__init__(*args, **kwargs)
        self.action = action
        self.provider = provider
        if provider:
            del self.fields["password"]
