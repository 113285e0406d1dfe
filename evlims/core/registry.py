"""Hooks and providers: how a lower layer calls code that lives above it without importing it.

A lower layer declares what it needs; the layer above registers its implementation when the app starts
(``EvlimsConfig.ready()`` in evlims/apps.py), so imports only ever point down (the contracts in .importlinter).

- A ``Hook`` has any number of receivers, each called in the order they were registered.
- A ``Provider`` has exactly one implementation. One with a default falls back to it when nothing is
  registered; one without refuses to be used before something is, so a missing registration is an error and
  never a silent "no".

Pure Python on purpose: the Django-free cores (the compliance engine) use it too.
"""

from collections.abc import Callable
from typing import Any

_NO_DEFAULT = object()


def receiver_key(function: Callable) -> str:
    """What identifies a registered function: the same function registered again replaces itself."""
    return f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', repr(function))}"


class Hook:
    """Receivers called in registration order. Registering the same function again replaces it (``ready()`` may
    run more than once in a test run)."""

    def __init__(self, name: str):
        self.name = name
        self._receivers: dict[str, Callable] = {}

    def register(self, receiver: Callable) -> Callable:
        self._receivers[receiver_key(receiver)] = receiver
        return receiver

    def receivers(self) -> list[Callable]:
        return list(self._receivers.values())

    def send(self, *args: Any, **kwargs: Any) -> None:
        for receiver in self.receivers():
            receiver(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._receivers)} receiver(s)>"


class Provider:
    """One implementation, registered by a layer above the code that uses it."""

    def __init__(self, name: str, *, default: Any = _NO_DEFAULT):
        self.name = name
        self._default = default
        self._implementation: Any = _NO_DEFAULT

    def register(self, implementation: Any) -> Any:
        self._implementation = implementation
        return implementation

    @property
    def registered(self) -> bool:
        return self._implementation is not _NO_DEFAULT

    def get(self) -> Any:
        if self._implementation is not _NO_DEFAULT:
            return self._implementation
        if self._default is not _NO_DEFAULT:
            return self._default
        raise LookupError(f"Nothing provides {self.name}: EvlimsConfig.ready() registers it when Django starts.")

    def __repr__(self) -> str:
        return f"<Provider {self.name}: {'registered' if self.registered else 'not registered'}>"
