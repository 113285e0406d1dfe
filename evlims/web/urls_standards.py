"""Reference materials, spikes, tracer readouts, dilution series and the method league table."""

from django.urls import path

from .views import standards

urlpatterns = [
    path("", standards.standards_home, name="standards"),
    path("lots/new/", standards.lot_new, name="standards-lot-new"),
    path("lots/<int:pk>/", standards.lot_detail, name="standards-lot"),
    path("spikes/new/", standards.spike_new, name="standards-spike-new"),
    path("readouts/new/", standards.readout_new, name="standards-readout-new"),
    path("dilutions/new/", standards.series_new, name="standards-series-new"),
    path("dilutions/<int:pk>/", standards.series_detail, name="standards-series"),
    path("league/", standards.league, name="standards-league"),
]
