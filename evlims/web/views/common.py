"""What every page view shares: login, lab scoping (404 for what the user cannot see), 403 pages,
pagination, and turning service errors into form errors."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import render

from ...conf import evlims_settings
from ...core.errors import ConflictError, NotFound
from ...core.paging import InvalidCursor, page_of
from ...core.tenancy import WRITER_ROLES, is_instrument_account, labs_where

INSTRUMENT_ACCOUNT_REFUSED = (
    "This is an instrument account: it opens no page. Instruments post results and files through the API "
    "(POST /api/v1/results/ and /api/v1/files/); people sign in with their own accounts."
)


def member_view(view):
    """Login required; instrument accounts get the 403 page (they use the API); NotFound becomes a 404 and
    PermissionDenied the plugin's own 403 page."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if is_instrument_account(request.user):
            return render(request, "evlims/403.html", {"message": INSTRUMENT_ACCOUNT_REFUSED}, status=403)
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404("No such record in your labs.")
        except PermissionDenied as denied:
            return render(request, "evlims/403.html", {"message": str(denied)}, status=403)
        except InvalidCursor as invalid:
            # An old or hand-edited "older" link: say so and offer the list's first page, not a 500.
            first_page = f"{request.path}?{query_without_page(request)}".rstrip("?")
            return render(request, "evlims/400.html", {"message": str(invalid), "first_page": first_page}, status=400)

    return wrapped


def scoped(selector, user, pk):
    """One object through a lab-scoped selector; anything the user cannot see is a 404."""
    try:
        return selector(user, pk)
    except NotFound:
        raise Http404("No such record in your labs.")


def add_service_errors(form, error: ValidationError, aliases=None) -> None:
    """Attach a service's ValidationError to the form fields it names, the rest to the whole form.

    ``aliases`` maps a service argument to the form field that supplied it (e.g. volumes_ul → volumes).
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    aliases = aliases or {}
    for name, messages in error.message_dict.items():
        field = aliases.get(name, name)
        form.add_error(field if field in form.fields else None, messages)


def run_service(form, call, aliases=None):
    """Run a write; on refusal put the reason on the form and return None (nothing was written)."""
    try:
        return call()
    except ValidationError as error:
        add_service_errors(form, error, aliases)
    except ConflictError as conflict:
        form.add_error(None, conflict.message)
    return None


# Pages 1..NUMBERED_PAGES keep page-number links; from there "Older" follows a keyset cursor, which
# reads the next rows through the sort index at any depth instead of skipping OFFSET rows.
NUMBERED_PAGES = 5


def paginate(request, queryset, decorate=None):
    """One page of a filtered, ordered list: ``?page=N`` or ``?after=<cursor>`` (any depth).

    The page is cut on ``queryset`` (no aggregate, so counting and slicing stay cheap); ``decorate``
    then adds per-row figures to the page's rows only. A bad cursor raises InvalidCursor (a 400 page).
    """
    page = page_of(
        queryset,
        size=evlims_settings.PAGE_SIZE,
        number=request.GET.get("page"),
        after=request.GET.get("after"),
        decorate=decorate,
    )
    page.numbered_next = not page.keyset and page.number < NUMBERED_PAGES
    return page


def query_without_page(request) -> str:
    """The current filters as a query string, for pagination links that keep them."""
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("after", None)
    return params.urlencode()


def ensure_writer(user) -> None:
    """Refuse write pages up front to users who hold no writing role in any lab."""
    if not labs_where(user, WRITER_ROLES):
        raise PermissionDenied("Your role does not allow registering or changing records.")


def save_versioned_edit(request, form, *, stored, update):
    """The POST half of an edit page for a versioned record: the changed fields go to ``update``, called with
    the record as stored and the service's keywords (the actor, the reason, the version the form was loaded at
    and the changes); views adapt it to their service's keyword-only contract.

    The form has already applied the input to its instance, so ``stored`` reads the record again for the
    service to know what changed. Returns the saved record, or None with the problem on the form."""
    if request.method != "POST" or not form.is_valid():
        return None
    changes = form.changes()
    if not changes:
        form.add_error(None, "Nothing was changed.")
        return None
    record = stored()
    return run_service(
        form,
        lambda: update(
            record,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
            changes=changes,
        ),
    )
