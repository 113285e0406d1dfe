"""REST API, version 1. Mounted at /api/v1/ by evlims.urls; names are ``evlims:api:<name>``."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import (
    aliquots,
    controls,
    custody,
    donors,
    flow,
    instruments,
    linearity,
    plate_layouts,
    preparations,
    projects,
    protocols,
    results,
    runs,
    samples,
    standards,
    storage,
)
from .docs import OfflineRedocView
from .exceptions import no_such_endpoint
from .results.blots import BlotPostApi

app_name = "api"

urlpatterns = [
    # The plugin serves its own OpenAPI schema and reference pages, so a host needs no extra routes.
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("schema/swagger/", SpectacularSwaggerView.as_view(url_name="evlims:api:schema"), name="swagger-ui"),
    path("schema/redoc/", OfflineRedocView.as_view(url_name="evlims:api:schema"), name="redoc"),
    path("projects/", projects.ProjectListApi.as_view(), name="project-list"),
    path("projects/<int:pk>/", projects.ProjectDetailApi.as_view(), name="project-detail"),
    path("donors/", donors.DonorListCreateApi.as_view(), name="donor-list"),
    path("donors/<int:pk>/", donors.DonorDetailApi.as_view(), name="donor-detail"),
    path("samples/", samples.SampleListCreateApi.as_view(), name="sample-list"),
    path("samples/<int:pk>/", samples.SampleDetailApi.as_view(), name="sample-detail"),
    path("samples/<int:pk>/aliquots/", samples.SampleAliquotsCreateApi.as_view(), name="sample-aliquots"),
    path("aliquots/", aliquots.AliquotListApi.as_view(), name="aliquot-list"),
    path("aliquots/<int:pk>/", aliquots.AliquotDetailApi.as_view(), name="aliquot-detail"),
    path("aliquots/<int:pk>/split/", aliquots.AliquotSplitApi.as_view(), name="aliquot-split"),
    path("aliquots/<int:pk>/move/", aliquots.AliquotMoveApi.as_view(), name="aliquot-move"),
    path("aliquots/<int:pk>/thaw/", aliquots.AliquotThawApi.as_view(), name="aliquot-thaw"),
    path("aliquots/<int:pk>/consume/", aliquots.AliquotConsumeApi.as_view(), name="aliquot-consume"),
    path("aliquots/<int:pk>/ship/", aliquots.AliquotShipApi.as_view(), name="aliquot-ship"),
    path("aliquots/<int:pk>/dispose/", aliquots.AliquotDisposeApi.as_view(), name="aliquot-dispose"),
    path("storage-units/", storage.StorageUnitListCreateApi.as_view(), name="storage-unit-list"),
    path("storage-units/<int:pk>/", storage.StorageUnitDetailApi.as_view(), name="storage-unit-detail"),
    path("storage-units/<int:pk>/grid/", storage.BoxGridApi.as_view(), name="storage-unit-grid"),
    path("custody-events/", custody.CustodyEventListApi.as_view(), name="custody-event-list"),
    path("custody-events/<int:pk>/", custody.CustodyEventDetailApi.as_view(), name="custody-event-detail"),
    # Instruments, their keys, and what they send.
    path("instruments/", instruments.InstrumentListCreateApi.as_view(), name="instrument-list"),
    path("instruments/<int:pk>/", instruments.InstrumentDetailApi.as_view(), name="instrument-detail"),
    path("instruments/<int:pk>/keys/", instruments.InstrumentKeyIssueApi.as_view(), name="instrument-key-issue"),
    path(
        "instruments/<int:pk>/keys/<int:key_pk>/revoke/",
        instruments.InstrumentKeyRevokeApi.as_view(),
        name="instrument-key-revoke",
    ),
    path("plate-layouts/", plate_layouts.PlateLayoutListCreateApi.as_view(), name="plate-layout-list"),
    path("plate-layouts/<int:pk>/", plate_layouts.PlateLayoutDetailApi.as_view(), name="plate-layout-detail"),
    path("plate-layouts/<int:pk>/retire/", plate_layouts.PlateLayoutRetireApi.as_view(), name="plate-layout-retire"),
    path("results/", results.ResultsPostApi.as_view(), name="results"),
    path("files/", results.FileUploadApi.as_view(), name="files"),
    path("ingestions/", results.IngestionListApi.as_view(), name="ingestion-list"),
    path("ingestions/<int:pk>/", results.IngestionDetailApi.as_view(), name="ingestion-detail"),
    path("ingestions/<int:pk>/commit/", results.IngestionCommitApi.as_view(), name="ingestion-commit"),
    path("measurements/", results.MeasurementListApi.as_view(), name="measurement-list"),
    path("measurements/<int:pk>/", results.MeasurementDetailApi.as_view(), name="measurement-detail"),
    path("measurements/<int:pk>/correct/", results.MeasurementCorrectApi.as_view(), name="measurement-correct"),
    path("measurements/<int:pk>/void/", results.MeasurementVoidApi.as_view(), name="measurement-void"),
    path("raw-files/<int:pk>/download/", results.RawFileDownloadApi.as_view(), name="raw-file-download"),
    path("blots/", BlotPostApi.as_view(), name="blots"),
    # Flow cytometry: FCS files, their gated results and bead calibrations.
    path("flow/acquisitions/", flow.FlowAcquisitionListCreateApi.as_view(), name="flow-acquisition-list"),
    path("flow/acquisitions/<int:pk>/", flow.FlowAcquisitionDetailApi.as_view(), name="flow-acquisition-detail"),
    path("flow/acquisitions/<int:pk>/results/", flow.FlowResultCreateApi.as_view(), name="flow-result-create"),
    path("flow/results/<int:pk>/", flow.FlowResultDetailApi.as_view(), name="flow-result-detail"),
    path("flow/calibrations/", flow.FlowCalibrationListCreateApi.as_view(), name="flow-calibration-list"),
    path("flow/calibrations/<int:pk>/", flow.FlowCalibrationDetailApi.as_view(), name="flow-calibration-detail"),
    # Protocols, isolation runs, preparations and their compliance.
    path("protocols/", protocols.ProtocolListApi.as_view(), name="protocol-list"),
    path("protocols/<int:pk>/", protocols.ProtocolDetailApi.as_view(), name="protocol-detail"),
    path("protocol-versions/", protocols.ProtocolVersionListCreateApi.as_view(), name="protocol-version-list"),
    path("protocol-versions/<int:pk>/", protocols.ProtocolVersionDetailApi.as_view(), name="protocol-version-detail"),
    path(
        "protocol-versions/<int:pk>/approve/",
        protocols.ProtocolVersionApproveApi.as_view(),
        name="protocol-version-approve",
    ),
    path(
        "protocol-versions/<int:pk>/retire/",
        protocols.ProtocolVersionRetireApi.as_view(),
        name="protocol-version-retire",
    ),
    path("runs/", runs.RunListCreateApi.as_view(), name="run-list"),
    path("runs/<int:pk>/", runs.RunDetailApi.as_view(), name="run-detail"),
    path("runs/<int:pk>/start/", runs.RunStartApi.as_view(), name="run-start"),
    path("runs/<int:pk>/steps/", runs.RunStepApi.as_view(), name="run-step"),
    path("runs/<int:pk>/complete/", runs.RunCompleteApi.as_view(), name="run-complete"),
    path("runs/<int:pk>/abort/", runs.RunAbortApi.as_view(), name="run-abort"),
    path("preparations/", preparations.PreparationListApi.as_view(), name="preparation-list"),
    path("preparations/<int:pk>/", preparations.PreparationDetailApi.as_view(), name="preparation-detail"),
    path(
        "preparations/<int:pk>/compliance/",
        preparations.PreparationComplianceApi.as_view(),
        name="preparation-compliance",
    ),
    path("preparations/<int:pk>/metrics/", preparations.PreparationMetricsApi.as_view(), name="preparation-metrics"),
    path(
        "preparations/<int:pk>/experiment/",
        preparations.PreparationExperimentApi.as_view(),
        name="preparation-experiment",
    ),
    path("reviews/", preparations.ReviewListCreateApi.as_view(), name="review-list"),
    path("reviews/<int:pk>/", preparations.ReviewDetailApi.as_view(), name="review-detail"),
    # Control materials and their Levey–Jennings charts.
    path("control-materials/", controls.ControlMaterialListApi.as_view(), name="control-material-list"),
    path("control-materials/<int:pk>/", controls.ControlMaterialDetailApi.as_view(), name="control-material-detail"),
    path("control-materials/<int:pk>/chart/", controls.ControlChartApi.as_view(), name="control-material-chart"),
    # Reference materials, spike recovery, dilution linearity and the method league table.
    path("reference-lots/", standards.LotListCreateApi.as_view(), name="reference-lot-list"),
    path("reference-lots/<int:pk>/", standards.LotDetailApi.as_view(), name="reference-lot-detail"),
    path("spikes/", standards.SpikeListCreateApi.as_view(), name="spike-list"),
    path("spikes/<int:pk>/", standards.SpikeDetailApi.as_view(), name="spike-detail"),
    path("tracer-readouts/", standards.ReadoutListCreateApi.as_view(), name="tracer-readout-list"),
    path("tracer-readouts/<int:pk>/", standards.ReadoutDetailApi.as_view(), name="tracer-readout-detail"),
    path("dilution-series/", linearity.SeriesListCreateApi.as_view(), name="dilution-series-list"),
    path("dilution-series/<int:pk>/", linearity.SeriesDetailApi.as_view(), name="dilution-series-detail"),
    path("recoveries/", linearity.RecoverySummaryApi.as_view(), name="recovery-summary"),
    path("method-league/", linearity.MethodLeagueApi.as_view(), name="method-league"),
    # Last: a URL ending in a slash that matched nothing above. (Without the slash Django first redirects to
    # the URL with one, when that exists.)
    re_path(r"^[\s\S]*/$", no_such_endpoint),
]
