"""REST API, version 1. Mounted at /api/v1/ by evlims.urls; names are ``evlims:api:<name>``."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import aliquots, custody, donors, projects, samples, storage
from .docs import OfflineRedocView

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
]
