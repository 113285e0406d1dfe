"""Two control materials (levels) measured in the same isolation runs, with limits estimated from a short
(provisional) baseline of particles per µg, a log-normal figure: the last run breaks R-4s across the levels."""

from dataclasses import dataclass
from datetime import timedelta

from evlims.metrics.models import ControlMaterial
from tests.factories import SampleFactory
from tests.services.test_control_charts import START, preparation

BASELINE = 5
LOW = [1.0e10, 1.1e10, 0.9e10, 1.05e10, 0.95e10]
HIGH = [1.0e11, 1.1e11, 0.9e11, 1.05e11, 0.95e11]
# The last run: the low level far above its mean, the high level far below its own.
LAST_LOW, LAST_HIGH = 2.0e10, 0.5e11


@dataclass
class ControlWorld:
    low: ControlMaterial
    high: ControlMaterial
    last_low: object  # the preparations of the last run
    last_high: object


def two_levels(lab, project, operator, *, prefix="CTRL") -> ControlWorld:
    low = ControlMaterial.objects.create(lab=lab, name="Low EV reference", baseline_points=BASELINE)
    high = ControlMaterial.objects.create(lab=lab, name="High EV reference", baseline_points=BASELINE)
    low.samples.add(SampleFactory(project=project, barcode=f"{prefix}-LOW", biofluid="cell_culture_medium"))
    high.samples.add(SampleFactory(project=project, barcode=f"{prefix}-HIGH", biofluid="cell_culture_medium"))
    last = None
    for day, (low_value, high_value) in enumerate(zip([*LOW, LAST_LOW], [*HIGH, LAST_HIGH], strict=True)):
        first = preparation(
            project,
            operator,
            sample=low.samples.get(),
            started_at=START + timedelta(days=day),
            particles_per_ug=low_value,
        )
        second = preparation(project, operator, sample=high.samples.get(), run=first.run, particles_per_ug=high_value)
        last = (first, second)
    return ControlWorld(low, high, *last)
