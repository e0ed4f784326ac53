"""Questions the engine puts to a face, and the :class:`Questioner` each face supplies.

The engine decides *that* a question is needed (a step destroys data; a downgrade undoes
migrations); the face decides *how* it is answered: buttons in Discord, a ``[y/N]`` prompt
on a terminal, ``--yes`` / ``--no-input`` in scripts. A new kind of question (a possible
rename, a legacy database to adopt) is a new dataclass here plus one branch in each face's
renderer; the faces' questioners stay as they are, since they only answer yes or no.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from .adopt import AdoptPlan
from .results import Loss, Plan, RevisionInfo

__all__ = [
    "ConfirmAdopt",
    "ConfirmMove",
    "ConfirmRestore",
    "Question",
    "Questioner",
    "confirm_move",
]


@dataclass(frozen=True)
class Question:
    """Something the engine will not do without a yes."""

    def summary(self) -> str:
        """One line saying what would happen (for a refusal or a log)."""
        raise NotImplementedError


@dataclass(frozen=True)
class ConfirmMove(Question):
    """An upgrade that destroys data, or any downgrade: the plans that would run.

    ``plans`` are the engine's per-app plans, each step with what it drops (and the rows
    at stake). When the answer is yes, the engine runs exactly these steps, or refuses if
    the database moved in between.
    """

    direction: Literal["up", "down"]
    plans: tuple[Plan, ...]

    @property
    def steps(self) -> list[RevisionInfo]:
        """Every step that would run, in run order."""
        return [step for plan in self.plans for step in plan.steps]

    @property
    def losses(self) -> list[Loss]:
        """Everything the steps destroy, in run order."""
        return [loss for step in self.steps for loss in step.losses]

    def summary(self) -> str:
        count = len(self.steps)
        verb = "undo" if self.direction == "down" else "apply"
        what = f"{verb} {count} migration{'s' if count != 1 else ''}"
        losses = self.losses
        if losses:
            first = losses[0].describe()
            more = f" and {len(losses) - 1} more" if len(losses) > 1 else ""
            return f"this would {what}, which destroys data: {first}{more}"
        return f"this would {what}"


@dataclass(frozen=True)
class ConfirmRestore(Question):
    """Putting a backup back: it replaces the whole database (SQLite) or the tables it holds."""

    path: Path
    database: str
    whole: bool

    def summary(self) -> str:
        what = "the whole database" if self.whole else "the tables the backup holds"
        return f"this would restore {self.path.name} into {self.database}, replacing {what}"


def confirm_move(direction: Literal["up", "down"], plans: Sequence[Plan]) -> ConfirmMove | None:
    """The question for running ``plans``, or ``None`` when no question is needed.

    A downgrade is always asked (it undoes work); an upgrade only when a step destroys data.
    """
    steps = [step for plan in plans for step in plan.steps]
    if not steps:
        return None
    if direction == "up" and not any(step.destructive for step in steps):
        return None
    return ConfirmMove(direction, tuple(plans))


@dataclass(frozen=True)
class ConfirmAdopt(Question):
    """Adopting what nextcord-ormar 0.3 left: ``plans`` (of apps to adopt) say what changes.

    When the answer is yes, the engine carries out exactly these plans, or refuses if the
    database or the scripts changed in between.
    """

    plans: tuple[AdoptPlan, ...]

    def summary(self) -> str:
        names = ", ".join(plan.app for plan in self.plans)
        count = len(self.plans)
        return (
            f"this would adopt {count} app{'s' if count != 1 else ''} from nextcord-ormar 0.3 "
            f"({names}): record their revisions, move or write migration scripts"
        )


class Questioner(Protocol):
    """Answers the engine's questions; each face supplies one.

    ``ask`` returns ``True`` to go ahead. To say no it returns ``False`` or raises
    :class:`~nextcord_ormar.errors.NotConfirmedError` with its own message (for example
    "run again with --yes", or "timed out"). It runs on the caller's event loop, before
    anything is written.
    """

    async def ask(self, question: Question) -> bool: ...
