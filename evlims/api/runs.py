"""Isolation runs: plan (protocol version + input aliquots), start, record steps, complete or abort.

planned → in progress → completed | aborted; any other move is a 400 naming ``status``. Starting takes the
input volumes from the aliquots; a recorded step's deviations from the protocol are computed, never typed.
The serializers are in ``run_serializers``.
"""

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from ..isolation import services
from ..isolation.models import IsolationRun
from ..isolation.selectors import run_get, run_list, runs_for, with_run_counts
from .base import IdFilter, ScopedDetailApi, ScopedListApi, ScopedObjectApi, split_edit
from .exceptions import errors_named_as_payload
from .run_serializers import (
    EmptyInputSerializer,
    RunAbortInputSerializer,
    RunCompleteInputSerializer,
    RunDetailOutputSerializer,
    RunListOutputSerializer,
    RunPlanInputSerializer,
    RunUpdateInputSerializer,
    StepInputSerializer,
)


class RunFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id")
    protocol_version = IdFilter(field_name="protocol_version_id")
    lab = IdFilter(field_name="lab_id")

    class Meta:
        model = IsolationRun
        fields = ["lab", "project", "protocol_version", "status", "method"]


def run_response(request, run_pk, status_code=status.HTTP_200_OK):
    return Response(RunDetailOutputSerializer(run_get(request.user, run_pk)).data, status=status_code)


PLAN_EXAMPLE = OpenApiExample(
    "qEV run on three aliquots",
    value={
        "project": 3,
        "protocol_version": 12,
        "inputs": [
            {"aliquot": "EVA-0000131", "volume_ul": "500.0"},
            {"aliquot": "EVA-0000132", "volume_ul": "500.0"},
            {"aliquot": 88, "volume_ul": "1000.0"},
        ],
        "equipment": "qEV original 70 nm, lot 2201",
    },
    request_only=True,
)


@extend_schema(tags=["runs"])
class RunListCreateApi(ScopedListApi):
    """Isolation runs of your labs; planning one creates a preparation per input aliquot."""

    serializer_class = RunListOutputSerializer
    filterset_class = RunFilter
    search_fields = ["code", "protocol_name", "equipment"]
    ordering_fields = ["started_at", "created_at", "code"]
    ordering = ["-created_at", "-id"]
    decorate_page = staticmethod(with_run_counts)

    def get_queryset(self):
        return run_list(self.request.user)

    @extend_schema(summary="List isolation runs")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Plan a run",
        request=RunPlanInputSerializer,
        responses={201: RunDetailOutputSerializer},
        examples=[PLAN_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        data = self.validated_input(RunPlanInputSerializer)
        inputs = [(row["aliquot"], row["volume_ul"]) for row in data.pop("inputs")]
        run = services.run_plan(actor=request.user, inputs=inputs, **data)
        return run_response(request, run.pk, status.HTTP_201_CREATED)


@extend_schema(tags=["runs"])
class RunDetailApi(ScopedDetailApi):
    """One run: protocol steps side by side with what was recorded, deviations, and the preparations."""

    serializer_class = RunDetailOutputSerializer

    def get_queryset(self):
        return runs_for(self.request.user)

    @extend_schema(summary="Read a run with steps, deviations and preparations")
    def get(self, request, *args, **kwargs):
        return run_response(request, self.get_object().pk)

    @extend_schema(
        summary="Correct a run's record (equipment, start and completion times)",
        request=RunUpdateInputSerializer,
        responses={200: RunDetailOutputSerializer},
        examples=[
            OpenApiExample(
                "Column lot",
                value={"equipment": "qEV original, lot 2024-17", "reason": "Lot copied from the box", "version": 4},
                request_only=True,
            )
        ],
    )
    def patch(self, request, *args, **kwargs):
        """An approval covering the run's preparations is voided, with the reason, and they are re-evaluated."""
        run = self.get_object()
        reason, version, changes = split_edit(self.validated_input(RunUpdateInputSerializer))
        services.run_update(run=run, actor=request.user, reason=reason, expected_version=version, changes=changes)
        return run_response(request, run.pk)


class RunActionApi(ScopedObjectApi):
    serializer_class = RunDetailOutputSerializer
    input_serializer_class = serializers.Serializer

    def get_queryset(self):
        return runs_for(self.request.user)

    def post(self, request, *args, **kwargs):
        run = self.get_object()
        data = self.validated_input(self.input_serializer_class)
        return self.perform(run, data)

    def perform(self, run, data):
        raise NotImplementedError("Each action calls its service.")


@extend_schema(
    tags=["runs"],
    summary="Start a planned run (takes the input volumes from the aliquots)",
    request=EmptyInputSerializer,
    responses={200: RunDetailOutputSerializer},
    examples=[
        OpenApiExample("Start", value={}, request_only=True),
        OpenApiExample(
            "Illegal transition",
            value={"status": ["A completed run cannot become in progress."]},
            response_only=True,
            status_codes=["400"],
        ),
    ],
)
class RunStartApi(RunActionApi):
    input_serializer_class = EmptyInputSerializer

    def perform(self, run, data):
        services.run_start(actor=self.request.user, run=run)
        return run_response(self.request, run.pk)


@extend_schema(
    tags=["runs"],
    summary="Record what was done at a protocol step (deviations are computed)",
    request=StepInputSerializer,
    responses={200: RunDetailOutputSerializer},
    examples=[
        OpenApiExample(
            "Clearing spin, a little faster than the protocol",
            value={
                "number": 1,
                "observed": {
                    "g_force": "3000 x g",
                    "duration_min": "16 min",
                    "temperature_c": 20,
                    "fraction_kept": "supernatant",
                },
                "notes": "Rotor TX-400",
            },
            request_only=True,
        )
    ],
)
class RunStepApi(RunActionApi):
    input_serializer_class = StepInputSerializer

    def perform(self, run, data):
        services.run_record_step(actor=self.request.user, run=run, **data)
        return run_response(self.request, run.pk)


@extend_schema(
    tags=["runs"],
    summary="Complete a run (every step recorded) with the preparations' outputs",
    request=RunCompleteInputSerializer,
    responses={200: RunDetailOutputSerializer},
    examples=[
        OpenApiExample(
            "Outputs",
            value={
                "outputs": [
                    {
                        "preparation": 41,
                        "final_volume_ul": "1500.0",
                        "buffer": "PBS",
                        "storage": "F1 / R2 / Box 7",
                        "storage_container": "0.5 mL low-binding tube",
                        "storage_temperature_c": "-80.0",
                    }
                ]
            },
            request_only=True,
        )
    ],
)
class RunCompleteApi(RunActionApi):
    input_serializer_class = RunCompleteInputSerializer

    def perform(self, run, data):
        outputs = {
            row["preparation"]: {key: value for key, value in row.items() if key != "preparation"}
            for row in data["outputs"]
        }
        services.run_complete(actor=self.request.user, run=run, outputs=outputs)
        return run_response(self.request, run.pk)


@extend_schema(
    tags=["runs"],
    summary="Abort a planned or running run",
    request=RunAbortInputSerializer,
    responses={200: RunDetailOutputSerializer},
    examples=[OpenApiExample("Abort", value={"reason": "Column cracked"}, request_only=True)],
)
class RunAbortApi(RunActionApi):
    input_serializer_class = RunAbortInputSerializer

    def perform(self, run, data):
        with errors_named_as_payload(abort_reason="reason"):
            services.run_abort(actor=self.request.user, run=run, reason=data["reason"])
        return run_response(self.request, run.pk)
