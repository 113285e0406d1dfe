"""Reference data characterization uses but does not own, registered by ``EvlimsConfig.ready()``: the protein
marker vocabulary (the compliance engine's vocab/markers.yaml). Marker results are stored under their HGNC
symbol, with their MISEV subcategories.

It belongs to a domain above this one (compliance reads characterization's measurements), so it is handed down
rather than imported.
"""

from ..core.registry import Provider

marker_vocabulary_source = Provider("the protein marker vocabulary")


def marker_vocabulary():
    """The marker vocabulary (``resolve`` a protein name to its symbol, ``subcategories`` of a symbol)."""
    return marker_vocabulary_source.get()()
