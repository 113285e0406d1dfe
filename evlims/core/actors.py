"""Who acts on a write: a person (a Django user) or a machine (an instrument key), or nobody (the system).

Services take any of these as ``actor``; these helpers are the one place that tells them apart."""


def is_person(actor) -> bool:
    """True for a person's account (anything with a username), False for instruments and the system."""
    return actor is not None and hasattr(actor, "get_username")


def person_or_none(actor):
    """The actor when it is a stored person, to keep in a "by" column; None for machines, the system and
    unsaved users."""
    return actor if is_person(actor) and actor.pk else None


def actor_label(actor) -> str:
    """A user's username; for machine actors (instruments) their kind and name."""
    if actor is None:
        return "system"
    if is_person(actor):
        return actor.get_username()
    return f"{actor._meta.model_name}:{actor}"
