"""The top bar's search box: one text field, as a barcode scanner or a person types it."""

from django import forms

# Longer than any code or phrase worth searching for; a scanner sends a few dozen characters at most.
SEARCH_MAX_LENGTH = 100


class SearchForm(forms.Form):
    # strip=True: a scanner ends the code with Enter (and some with a tab or spaces), which never belong to it.
    q = forms.CharField(
        required=False,
        strip=True,
        max_length=SEARCH_MAX_LENGTH,
        label="Search",
        error_messages={"max_length": "Search text: at most %(limit_value)d characters (this has %(show_value)d)."},
    )
