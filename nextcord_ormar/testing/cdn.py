"""The local CDN: every file the bot uploaded or a user attached, by attachment id."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .messages import RecordedFile, UploadedFile

if TYPE_CHECKING:
    from .world import Snowflakes

__all__ = ["Cdn"]


class Cdn(dict[int, RecordedFile]):
    """Files by attachment id (read it like a dict), served under :attr:`base_url`.

    ``snowflakes`` names new files; ``base_url`` says where the server listens (known only
    once it started).
    """

    def __init__(self, snowflakes: Snowflakes, base_url: Callable[[], str]) -> None:
        super().__init__()
        self._snowflakes = snowflakes
        self._base_url = base_url

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: attachment URLs start here."""
        return self._base_url()

    def add(
        self, filename: str, data: bytes, content_type: str | None, description: str | None
    ) -> RecordedFile:
        """Store one file under a new attachment id."""
        item = RecordedFile(
            filename=filename,
            data=data,
            id=self._snowflakes.next(),
            content_type=content_type,
            description=description,
        )
        self[item.id] = item
        return item

    def add_uploads(self, uploads: list[UploadedFile], data: dict[str, Any]) -> list[RecordedFile]:
        """Store uploaded ``files[n]`` in order, described by ``data["attachments"]``."""
        described = {
            int(a["id"]): a.get("description")
            for a in data.get("attachments") or []
            if isinstance(a, dict) and str(a.get("id", "")).isdigit()
        }
        return [
            self.add(u.filename, u.data, u.content_type, described.get(u.index))
            for u in sorted(uploads, key=lambda u: u.index)
        ]
