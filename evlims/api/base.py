"""Shared pieces of the API views and serializers: scoped relations, input handling, view defaults."""

from decimal import Decimal

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from ..core.ids import MAX_ID
from ..core.models import Lab
from ..core.tenancy import visible_lab_ids
from .authentication import ApiKeyAuthentication
from .edits import EditSerializer, split_edit  # noqa: F401  (imported from here by the resource modules)
from .pagination import EvlimsPageNumberPagination
from .payloads import merge_errors, refused_input
from .permissions import LabRolePermission
from .schema import ID_BOUNDS, ApiSchema
from .throttling import InstrumentKeyRateThrottle


def labs_for(user):
    return Lab.objects.filter(pk__in=visible_lab_ids(user))


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key in a payload, resolved only among the requesting user's labs.

    An id from another lab fails exactly like an id that does not exist, so the answer leaks nothing.
    ``scope`` is a selector taking the user and returning a queryset.
    """

    def __init__(self, *, scope, model, **kwargs):
        self.scope = scope
        # The empty queryset only tells the schema generator the model; lookups use ``scope``.
        kwargs["queryset"] = model._default_manager.none()
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.scope(self.context["request"].user)


def volume_ul_field(**kwargs):
    """A tube volume in µL as aliquots store it (one decimal), strictly positive."""
    return serializers.DecimalField(
        max_digits=10,
        decimal_places=1,
        min_value=Decimal("0.1"),
        error_messages={"min_value": "Volume must be more than 0 µL."},
        **kwargs,
    )


class QualityFlagSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["warning", "problem"])
    message = serializers.CharField()
    citation = serializers.CharField()


@extend_schema_field({"type": "integer", **ID_BOUNDS})
class IdFilter(django_filters.NumberFilter):
    """Filter on a related object's id. A plain number, not a model choice: an unknown id and another
    lab's id both simply match nothing, so the filter cannot be used to probe for other labs' records."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        # Ids are 64-bit: a larger number is a 400 on the filter, not an overflow in the database driver.
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class NamedSearchFilter(SearchFilter):
    """The standard ``?search=`` filter; a value it refuses (one with a NUL character) is a 400 naming it,
    like every other refused parameter, rather than a bare list of messages."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({self.search_param: error.detail}) from None


class DocumentedOrderingFilter(OrderingFilter):
    """The standard ``?ordering=`` filter, with the allowed fields spelled out in the schema."""

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        fields = getattr(view, "ordering_fields", None) or []
        for parameter in parameters:
            parameter["description"] = (
                f"Sort by {', '.join(fields)}; prefix a field with - for descending order, "
                "separate several with commas."
            )
        return parameters


class ScopedApi(GenericAPIView):
    """Defaults of every evlims endpoint: lab-role permission, pagination, filters, and input parsing.

    Authentication is the host's (session, HTTP Basic) followed by instrument keys; keys are refused
    unless the view sets ``api_key_scopes`` (see permissions.py) and are throttled per key.
    Input is read through ``checked_input``: unknown fields and choice values are refused, never dropped.
    """

    schema = ApiSchema()
    permission_classes = [LabRolePermission]
    throttle_classes = [InstrumentKeyRateThrottle]
    pagination_class = EvlimsPageNumberPagination
    filter_backends = [DjangoFilterBackend, NamedSearchFilter, DocumentedOrderingFilter]
    api_key_scopes: dict = {}

    def get_authenticators(self):
        authenticators = super().get_authenticators()
        if not any(isinstance(a, ApiKeyAuthentication) for a in authenticators):
            authenticators.append(ApiKeyAuthentication())
        return authenticators

    def checked_input(self, serializer_class, **kwargs):
        """The request's data validated by ``serializer_class``. A key it does not declare (at any level of
        nested serializers) or a value outside a choice field's choices is a 400 naming it, with the other
        errors of the request."""
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context(), **kwargs)
        valid = serializer.is_valid()
        refused = refused_input(serializer, self.request.data)
        if refused:
            raise serializers.ValidationError(merge_errors(serializer.errors, refused))
        if not valid:
            raise serializers.ValidationError(serializer.errors)
        return serializer

    def validated_input(self, serializer_class, **kwargs) -> dict:
        return self.checked_input(serializer_class, **kwargs).validated_data

    def respond(self, instance, status=200):
        return Response(self.get_serializer(instance).data, status=status)

    def respond_many(self, instances, status=200):
        return Response(self.get_serializer(instances, many=True).data, status=status)


class ScopedListApi(ListModelMixin, ScopedApi):
    """A paginated, filterable list drawn from a selector (``get_queryset``)."""

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class ScopedObjectApi(ScopedApi):
    """An endpoint about one object (``pk`` in the path) of the user's labs; another lab's is a 404."""

    filter_backends = []
    pagination_class = None


class ScopedDetailApi(ScopedObjectApi):
    def get(self, request, *args, **kwargs):
        return self.respond(self.get_object())
