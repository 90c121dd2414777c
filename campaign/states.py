"""A small base for state enums that know their allowed transitions."""
from __future__ import annotations

import enum


class TransitionError(ValueError):
    """A state change that the state machine does not allow."""


class StateEnum(str, enum.Enum):
    @classmethod
    def transitions(cls) -> dict["StateEnum", set["StateEnum"]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def can_become(self, new: "StateEnum") -> bool:
        return new in self.transitions().get(self, set())

    def check(self, new: "StateEnum") -> None:
        if not self.can_become(new):
            raise TransitionError(f"{type(self).__name__}: {self.value} → {new.value} is not allowed")


def enum_type(cls: type[enum.Enum]):
    """Store an enum by its value as a plain string (portable across databases)."""
    import sqlalchemy as sa

    return sa.Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=24,
        values_callable=lambda members: [m.value for m in members],
    )
