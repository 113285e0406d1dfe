"""Reference data characterization uses but does not own, registered by ``EvlimsConfig.ready()``:

- the protein marker vocabulary (the compliance engine's vocab/markers.yaml): marker results are stored under
  their HGNC symbol, with their MISEV subcategories;
- the small-EV window (the metrics' thresholds.yaml): where the size plots draw their "small EVs" line.

Both belong to domains above this one (compliance and metrics read characterization's measurements), so they
are handed down rather than imported.
"""

from ..core.registry import Provider

marker_vocabulary_source = Provider("the protein marker vocabulary")
small_ev_window_source = Provider("the small-EV window")


def marker_vocabulary():
    """The marker vocabulary (``resolve`` a protein name to its symbol, ``subcategories`` of a symbol)."""
    return marker_vocabulary_source.get()()


def small_ev_upper_nm() -> float:
    """The upper bound of the small-EV window, in nm."""
    return float(small_ev_window_source.get()())
