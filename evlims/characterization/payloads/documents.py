"""The validation engine: documents of declared fields, nested documents and lists of them, the refusal of
undeclared keys and values, and the error shapes (merged, flattened to ``results[2].marker.protein``)."""

from collections.abc import Mapping

from .fields import EMPTY, NON_FIELD_ERRORS, UNKNOWN_FIELD, Choice, Field, Invalid, Items, _Skip, _unknown_choice


class Document:
    """Declared fields (class attributes, in declaration order); ``validate`` checks them together once each is
    valid, raising Invalid with ``{field: message}`` or a message about the whole document."""

    fields: dict[str, Field] = {}
    inspected: dict[str, Field] = {}
    accepted = ""
    refuses_unknown = False  # keys and choice values it does not declare, at any level, are errors

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        inherited = {name: field for base in reversed(cls.__mro__[1:]) for name, field in vars(base).items()}
        own = {name: value for name, value in vars(cls).items() if isinstance(value, Field)}
        cls.fields = {
            **{name: field for name, field in inherited.items() if isinstance(field, Field)},
            **own,
        }
        # What refused_input looks into: the fields that can refuse something (nested documents, choices,
        # lists of them), decided once per document rather than for every key of every document checked.
        cls.inspected = {name: field for name, field in cls.fields.items() if _may_refuse(field)}
        cls.accepted = ", ".join(cls.fields)

    @classmethod
    def validate(cls, attrs: dict) -> dict:
        return attrs


class Nested(Field):
    """A document (or, with ``many``, a list of at most ``max_length`` of them) inside a document."""

    messages = {
        **Field.messages,
        "invalid": "Invalid data. Expected a dictionary, but got {datatype}.",
        "not_a_list": 'Expected a list of items but got type "{input_type}".',
        "max_length": "Ensure this field has no more than {max_length} elements.",
    }

    def __init__(self, document: type[Document], *, many: bool = False, max_length: int | None = None, **kw):
        super().__init__(**kw)
        self.document = document
        self.many = many
        self.max_length = max_length
        self.child = Nested(document) if many else None

    def run(self, data):
        is_empty, data = self.empty_value(data)
        if is_empty:
            return data
        return self._many(data) if self.many else self._one(data)

    def _many(self, data):
        if not isinstance(data, list):
            raise Invalid({NON_FIELD_ERRORS: [self.message("not_a_list", input_type=type(data).__name__)]})
        if self.max_length is not None and len(data) > self.max_length:
            raise Invalid({NON_FIELD_ERRORS: [self.message("max_length", max_length=self.max_length)]})
        values, errors = [], {}
        for index, item in enumerate(data):
            try:
                values.append(self.child.run(item))
            except Invalid as error:
                errors[index] = error.detail
        if errors:  # keyed by position, as DRF 3.18 keys them (LIST_SERIALIZER_ERRORS_AS_DICT)
            raise Invalid(errors)
        return values

    def _one(self, data):
        value = self._fields(data)
        try:
            return self.document.validate(value)
        except Invalid as error:
            raise Invalid(_document_error(error.detail)) from error

    def _fields(self, data) -> dict:
        refused = refused_input(self, data) if self.document.refuses_unknown else None
        try:
            value = self._declared(data)
        except Invalid as error:
            if refused:
                raise Invalid(merge_errors(error.detail, refused)) from error
            raise
        if refused:
            raise Invalid(refused)
        return value

    def _declared(self, data) -> dict:
        if not isinstance(data, Mapping):
            raise Invalid({NON_FIELD_ERRORS: [self.message("invalid", datatype=type(data).__name__)]})
        value, errors = {}, {}
        for name, field in self.document.fields.items():
            sent = data.get(name, EMPTY)
            if sent is EMPTY and field.left_out_when_absent:
                continue
            try:
                value[name] = field.run(sent)
            except Invalid as error:
                errors[name] = error.detail
            except _Skip:
                pass
        if errors:
            raise Invalid(errors)
        return value


def _document_error(detail):
    """An error a document's ``validate`` raised, as field errors: {field: [messages]} or the whole document's."""
    if isinstance(detail, Mapping):
        return {key: value if isinstance(value, list | Mapping) else [value] for key, value in detail.items()}
    if isinstance(detail, list):
        return {NON_FIELD_ERRORS: detail}
    return {NON_FIELD_ERRORS: [detail]}


def refused_input(field, data):
    """What ``field`` (a nested document or one of its fields) would drop or refuse vaguely in ``data``: keys no
    document declares, at every nested level, and values outside a choice's choices, each with what is
    accepted. Shaped like the other errors; None when there is nothing. Free-form objects are not looked into.
    """
    if isinstance(field, Nested) and field.many:
        if not isinstance(data, list):
            return None
        errors = [refused_input(field.child, item) or {} for item in data]
        return errors if any(errors) else None
    if isinstance(field, Nested):
        if not isinstance(data, Mapping):
            return None
        document = field.document
        fields = document.fields
        errors = {key: [UNKNOWN_FIELD.format(accepted=document.accepted)] for key in data if key not in fields}
        for name, child in document.inspected.items():
            if name in data and (refused := refused_input(child, data[name])):
                errors[name] = refused
        return errors or None
    if isinstance(field, Items):
        if not isinstance(data, list):
            return None
        errors = {index: refused for index, item in enumerate(data) if (refused := refused_input(field.child, item))}
        return errors or None
    if isinstance(field, Choice):
        if data is None or data == "" or str(data) in field.accepted:
            return None
        return _unknown_choice(data, field.accepted)
    return None


def _may_refuse(field) -> bool:
    """Whether refused_input can find anything in what ``field`` is sent (None for every other field)."""
    if isinstance(field, Items):
        return _may_refuse(field.child)
    return isinstance(field, Nested | Choice)


def merge_errors(errors, refused):
    """``errors`` with ``refused`` laid over them; a refused value's message replaces the field's own."""
    if isinstance(errors, Mapping) and isinstance(refused, Mapping):
        merged = dict(errors)
        for key, value in refused.items():
            merged[key] = merge_errors(errors[key], value) if key in errors else value
        return merged
    if (
        isinstance(errors, list)
        and isinstance(refused, list)
        and len(errors) == len(refused)
        and all(isinstance(item, Mapping) for item in errors + refused)
    ):
        return [merge_errors(error, item) for error, item in zip(errors, refused, strict=True)]
    return refused


def flatten_errors(errors, prefix: str) -> dict[str, list[str]]:
    """Nested errors as {"results[2].marker.protein": [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        flat[prefix] = [str(e) for e in errors]
    elif isinstance(errors, list):
        for index, item in enumerate(errors):
            if item:
                flat |= flatten_errors(item, f"{prefix}[{index}]")
    elif isinstance(errors, dict):
        for key, item in errors.items():
            if key == NON_FIELD_ERRORS:
                path = prefix
            elif isinstance(key, int) or str(key).isdigit():  # list errors may come keyed by index
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}"
            flat |= flatten_errors(item, path)
    else:
        flat[prefix] = [str(errors)]
    return flat
