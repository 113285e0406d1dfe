"""Inter-laboratory comparisons (ISO 13528): the coordinating lab defines schemes, rounds, participants, items
and the checks of the material, ships and closes rounds; participant labs list the items they received and
report a result on each; both read the round's statistics, cut to what each may see (``interlab.payloads``)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from ..core.models import Lab
from ..core.tenancy import visible_lab_ids
from ..interlab import payloads, scoring, selectors, services
from ..samples.models import Aliquot
from .base import ScopedDetailApi, ScopedListApi, ScopedObjectApi
from .interlab_serializers import (
    STATISTICS_EXAMPLE,
    ComparisonChecksInputSerializer,
    ComparisonEnrolInputSerializer,
    ComparisonItemInputSerializer,
    ComparisonItemOutputSerializer,
    ComparisonReasonInputSerializer,
    ComparisonResultInputSerializer,
    ComparisonResultOutputSerializer,
    ComparisonRoundCreateInputSerializer,
    ComparisonRoundOutputSerializer,
    ComparisonSchemeCreateInputSerializer,
    ComparisonSchemeOutputSerializer,
)

ROUND_ANSWER = {200: ComparisonRoundOutputSerializer}
ROUND_CREATED = {201: ComparisonRoundOutputSerializer}


class _RoundApi(ScopedObjectApi):
    serializer_class = ComparisonRoundOutputSerializer

    def get_queryset(self):
        return selectors.rounds_for(self.request.user)

    def lab_id_of(self, round_):
        """The coordinating lab for its members; for a participant, the participant lab it belongs to."""
        labs = set(visible_lab_ids(self.request.user))
        if round_.lab_id in labs:
            return round_.lab_id
        own = [p.lab_id for p in round_.participants.all() if p.lab_id in labs]
        return own[0] if own else None


@extend_schema(tags=["comparisons"])
class SchemeListCreateApi(ScopedListApi):
    """Comparison schemes your labs coordinate, and defining a new one."""

    serializer_class = ComparisonSchemeOutputSerializer
    ordering_fields = ["code", "created_at"]
    ordering = ["code", "id"]
    search_fields = ["code", "name"]

    def get_queryset(self):
        return selectors.schemes_for(self.request.user)

    @extend_schema(summary="List the comparison schemes your labs coordinate")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Define a comparison scheme",
        request=ComparisonSchemeCreateInputSerializer,
        responses={201: ComparisonSchemeOutputSerializer},
        examples=[
            OpenApiExample(
                "Plasma EV count",
                value={"lab": 1, "code": "EV-EQA", "name": "Plasma EV particle count", "quantity": "particles_per_ml"},
                request_only=True,
            )
        ],
    )
    def post(self, request, *args, **kwargs):
        data = self.validated_input(ComparisonSchemeCreateInputSerializer)
        scheme = services.scheme_create(actor=request.user, **data)
        return self.respond(scheme, status=status.HTTP_201_CREATED)


@extend_schema(tags=["comparisons"])
class RoundListCreateApi(ScopedListApi):
    """Rounds your labs coordinate or take part in, and opening a new round of a scheme."""

    serializer_class = ComparisonRoundOutputSerializer
    ordering_fields = ["code", "created_at"]
    ordering = ["-created_at", "id"]
    search_fields = ["code", "scheme__code"]

    def get_queryset(self):
        return selectors.rounds_for(self.request.user)

    @extend_schema(summary="List comparison rounds")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Open a comparison round",
        request=ComparisonRoundCreateInputSerializer,
        responses=ROUND_CREATED,
    )
    def post(self, request, *args, **kwargs):
        data = self.validated_input(ComparisonRoundCreateInputSerializer)
        round_ = services.round_create(actor=request.user, **data)
        return self.respond(round_, status=status.HTTP_201_CREATED)


@extend_schema(tags=["comparisons"])
class RoundDetailApi(_RoundApi, ScopedDetailApi):
    """One round: its material, status, σ_pt and how its assigned value is set; your role and codes in it."""

    @extend_schema(summary="Read a comparison round")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["comparisons"])
class RoundStatisticsApi(_RoundApi):
    """The round's ISO 13528 statistics. The coordinator sees the assigned value, robust SD, checks and every
    participant's z, z′, ζ and En with its lab; a participant sees its own results, and once the round is
    closed its scores and every result by participant code only."""

    @extend_schema(
        summary="Read a round's assigned value, checks and scores",
        responses={200: OpenApiTypes.OBJECT},
        examples=[OpenApiExample("Closed round, coordinator's view", value=STATISTICS_EXAMPLE, response_only=True)],
    )
    def get(self, request, *args, **kwargs):
        round_ = self.get_object()
        coordinator = selectors.is_coordinator(request.user, round_)
        data = payloads.round_statistics(
            scoring.assess(round_), coordinator=coordinator, own_lab_ids=visible_lab_ids(request.user)
        )
        return Response(data)


class _RoundActionApi(_RoundApi):
    input_serializer = ComparisonReasonInputSerializer

    def act(self, round_, data):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        round_ = self.get_object()
        data = self.validated_input(self.input_serializer)
        self.act(round_, data)
        return self.respond(self.get_queryset().get(pk=round_.pk))


@extend_schema(tags=["comparisons"])
class RoundParticipantApi(_RoundActionApi):
    """Enrols a lab; it is given a code drawn at random ("Lab 07") that the other participants see."""

    input_serializer = ComparisonEnrolInputSerializer

    @extend_schema(
        summary="Enrol a participant lab",
        request=ComparisonEnrolInputSerializer,
        responses=ROUND_ANSWER,
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, round_, data):
        lab = Lab.objects.filter(slug=data["lab"]).first()
        if lab is None:
            raise serializers.ValidationError({"lab": [f"No lab has the short name {data['lab']!r}."]})
        services.participant_enrol(actor=self.request.user, round=round_, lab=lab, reason=data.get("reason", ""))


@extend_schema(tags=["comparisons"])
class RoundItemApi(_RoundActionApi):
    """Adds an item for a participant: an aliquot of the coordinating lab (handed over with custody) or, without
    one, an item sent in a kit."""

    input_serializer = ComparisonItemInputSerializer

    @extend_schema(
        summary="Add an item for a participant",
        request=ComparisonItemInputSerializer,
        responses=ROUND_ANSWER,
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, round_, data):
        participant = round_.participants.filter(code=data["participant"]).first()
        if participant is None:
            raise serializers.ValidationError(
                {"participant": [f"Round {round_.code} has no participant {data['participant']!r}."]}
            )
        aliquot = None
        if data.get("aliquot"):
            aliquot = Aliquot.objects.filter(lab_id=round_.lab_id, barcode=data["aliquot"]).first()
            if aliquot is None:
                raise serializers.ValidationError(
                    {"aliquot": [f"The coordinating lab has no aliquot {data['aliquot']!r}."]}
                )
        services.item_add(
            actor=self.request.user,
            participant=participant,
            code=data.get("code", ""),
            aliquot=aliquot,
            reason=data.get("reason", ""),
        )


@extend_schema(tags=["comparisons"])
class RoundChecksApi(_RoundActionApi):
    """Records the homogeneity (items in duplicate) and stability (before and after) results of the material."""

    input_serializer = ComparisonChecksInputSerializer

    @extend_schema(
        summary="Record homogeneity and stability results",
        request=ComparisonChecksInputSerializer,
        responses=ROUND_ANSWER,
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, round_, data):
        services.round_checks_record(actor=self.request.user, round=round_, **data)


@extend_schema(tags=["comparisons"])
class RoundShipApi(_RoundActionApi):
    """Sends every item: aliquots leave with a custody event, the others as a kit (manifest on the round page)."""

    @extend_schema(
        summary="Ship a round's items",
        request=ComparisonReasonInputSerializer,
        responses=ROUND_ANSWER,
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, round_, data):
        services.round_ship(actor=self.request.user, round=round_, **data)


@extend_schema(tags=["comparisons"])
class RoundCloseApi(_RoundActionApi):
    """Closes the round and fixes its assigned value; participants then see their scores."""

    @extend_schema(
        summary="Close and score a round",
        request=ComparisonReasonInputSerializer,
        responses=ROUND_ANSWER,
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, round_, data):
        services.round_close(actor=self.request.user, round=round_, **data)


@extend_schema(tags=["comparisons"])
class ItemListApi(ScopedListApi):
    """Items sent to your labs, and every item of the rounds your labs coordinate."""

    serializer_class = ComparisonItemOutputSerializer
    ordering_fields = ["code", "created_at"]
    ordering = ["code", "id"]
    search_fields = ["code"]

    def get_queryset(self):
        return selectors.items_for(self.request.user)

    @extend_schema(summary="List comparison items")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["comparisons"])
class ItemResultApi(ScopedObjectApi):
    """Reports your lab's result on an item it received: a value with its standard uncertainty u(x) and coverage
    factor k, or a result recorded the normal way (``measurement``) whose headline figure is read. Reporting
    again replaces the result until the round is closed."""

    serializer_class = ComparisonResultOutputSerializer

    def get_queryset(self):
        return selectors.received_items(self.request.user)

    def lab_id_of(self, item):
        return item.participant.lab_id

    @extend_schema(
        summary="Report a result on an item",
        request=ComparisonResultInputSerializer,
        responses={201: ComparisonResultOutputSerializer},
        examples=[
            OpenApiExample(
                "NTA count with its uncertainty",
                value={"value": 5.1e9, "standard_uncertainty": 2.0e8, "coverage_factor": 2, "method": "NTA"},
                request_only=True,
            )
        ],
    )
    def post(self, request, *args, **kwargs):
        item = self.get_object()
        data = self.validated_input(ComparisonResultInputSerializer)
        result = services.result_report(actor=request.user, item=item, **data)
        return self.respond(result, status=status.HTTP_201_CREATED)
