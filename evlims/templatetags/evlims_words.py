"""Template filters for the lab's words: ``{% load evlims_words %}``.

``{{ value|number:"concentration" }}`` (also "size", "percent", "protein", "count", or none for plain),
``{{ code|label:"biofluid" }}`` (also "method", "parameter:<method>", "field", or none for any model choice),
``{{ value|words:"field_code" }}`` for any recorded value (lists, mappings, booleans) in words.
"""

from django import template

from ..compliance import wording
from ..web import display

register = template.Library()


@register.filter
def number(value, kind=""):
    return display.number(value, kind)


@register.filter
def label(code, kind=""):
    return display.label(code, kind)


@register.filter
def words(value, field=""):
    return display.words(value, field)


@register.filter
def ruleset(text, kind=""):
    return display.ruleset(text, kind)


@register.filter
def action(code):
    return display.action(code)


@register.filter
def prose(text):
    """An evaluator's message with document paths and codes in words."""
    return wording.prose(text)
