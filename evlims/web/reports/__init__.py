"""What the pages hand out about compliance, built from the stored evaluations: the report sections and the PDF
(``compliance``), the CSV and JSON exports and the EV-TRACK-style checklist (``exports``), and the links from a
failing rule to the form that fixes it (``fix_links``).

Presentation sits with delivery: it reads the compliance domain (its selectors, evidence and engine) and is
read by the views; no domain imports it.
"""
