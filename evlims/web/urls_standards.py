"""Reference materials, spikes, tracer readouts, dilution series and the method league table."""

from django.urls import path

from .views import standards, standards_changes

urlpatterns = [
    path("", standards.standards_home, name="standards"),
    path("lots/new/", standards.lot_new, name="standards-lot-new"),
    path("lots/<int:pk>/", standards.lot_detail, name="standards-lot"),
    path("spikes/new/", standards.spike_new, name="standards-spike-new"),
    path("spikes/<int:pk>/", standards_changes.spike_detail, name="standards-spike"),
    path("spikes/<int:pk>/correct/", standards_changes.spike_correct, name="standards-spike-correct"),
    path("spikes/<int:pk>/void/", standards_changes.spike_void, name="standards-spike-void"),
    path("readouts/new/", standards.readout_new, name="standards-readout-new"),
    path("readouts/<int:pk>/", standards_changes.readout_detail, name="standards-readout"),
    path("readouts/<int:pk>/correct/", standards_changes.readout_correct, name="standards-readout-correct"),
    path("readouts/<int:pk>/void/", standards_changes.readout_void, name="standards-readout-void"),
    path("dilutions/new/", standards.series_new, name="standards-series-new"),
    path("dilutions/<int:pk>/", standards.series_detail, name="standards-series"),
    path("league/", standards.league, name="standards-league"),
]
