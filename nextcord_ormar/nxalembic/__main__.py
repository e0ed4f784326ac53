"""``python -m nextcord_ormar.nxalembic``: the same as the ``nxalembic`` command."""

from .cli import main

raise SystemExit(main())
