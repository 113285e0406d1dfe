"""What the pages draw and hand out, built from stored records: size-distribution plots (``plots``), the
compliance report's sections and its PDF (``compliance``), the CSV and JSON exports and the EV-TRACK-style
checklist (``exports``), and the links from a failing rule to the form that fixes it (``fix_links``).

Presentation sits with delivery: it reads the domains (compliance's selectors, evidence and engine; the
metrics' small-EV window) and is read by the views; no domain imports it.
"""
