"""Notifications: what happened that a person should know (a review to sign, a review signed or voided, a
control chart out of control), kept as an in-app list and sent by e-mail, as each person chooses.

The domains do not know this package: the QA review announces its steps on ``review.events.review_events`` and
the metrics domain says which labs' figures changed on ``metrics.summaries.on_figures_stored``;
``EvlimsConfig.ready()`` connects the receivers in ``receivers``."""
