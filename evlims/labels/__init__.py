"""Labels for thermal cryo-label printers: each lab's label template, ZPL written for it (``zpl``, pure), and
labels sent to the lab's printer over raw TCP (``services``)."""
