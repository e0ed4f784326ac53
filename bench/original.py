"""The original nextcord-ormar 0.3.3 from PyPI, in a virtual environment of its own.

Used only as a yardstick: its ``nxalembic migrate`` is timed on the same workload as ours.
Nothing of it is imported here; we write a bot project the way its README describes and run
its console script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .common import REPO

VENV = REPO / "bench" / ".venv-original"
REQUIREMENT = "nextcord-ormar==0.3.3"
PYTHON_VERSION = (3, 11)


class Unavailable(Exception):
    """The original library cannot be installed or run here; the message says why."""


def _python311() -> str:
    if sys.version_info[:2] == PYTHON_VERSION:
        return sys.executable
    found = shutil.which("python3.11")
    if found is None:
        raise Unavailable("no Python 3.11 interpreter found (python3.11 on PATH)")
    return found


def ensure_venv() -> Path:
    """Create (once) the virtual environment with the original library; returns its bin dir."""
    bin_dir = VENV / "bin"
    stamp = VENV / ".installed"
    if stamp.exists() and (bin_dir / "nxalembic").exists():
        return bin_dir
    try:
        if not (bin_dir / "python").exists():
            subprocess.run(
                [_python311(), "-m", "venv", str(VENV)], check=True, capture_output=True, text=True
            )
        subprocess.run(
            [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", REQUIREMENT, "aiosqlite"],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.CalledProcessError as exc:
        lines = (exc.stderr or exc.stdout or "").strip().splitlines()
        detail = lines[-1] if lines else str(exc)
        raise Unavailable(f"pip could not install {REQUIREMENT}: {detail}") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"could not create its virtual environment: {exc}") from None
    stamp.write_text(REQUIREMENT, encoding="utf-8")
    return bin_dir


BOT_MODULE = """\
from nextcord_ormar import Bot

bot = Bot(command_prefix="$", database_url={url!r})
bot.load_extension("cogs.{app}")
"""


def cog_source(app: str, tables: int) -> str:
    """A cog whose app has ``tables`` models, in the 0.3.3 style (``class Meta(ModelMeta)``)."""
    lines = [
        "import ormar",
        "from nextcord.ext import commands",
        "from nextcord_ormar import AppModel, OrmarApp",
        f"ModelMeta = OrmarApp.create_app({app!r})",
    ]
    for index in range(tables):
        lines += [
            f"class Model{index}(AppModel):",
            "    class Meta(ModelMeta):",
            "        pass",
            "    id = ormar.Integer(primary_key=True)",
            "    name = ormar.String(max_length=40, nullable=True)",
            "    score = ormar.Integer(default=0)",
        ]
    lines += ["class Shop(commands.Cog):", "    pass", "def setup(bot):", "    bot.add_cog(Shop())"]
    return "\n".join(lines) + "\n"


def write_project(root: Path, url: str, app: str, tables: int) -> None:
    package = root / "cogs" / app
    package.mkdir(parents=True, exist_ok=True)
    (root / "cogs" / "__init__.py").write_text("", encoding="utf-8")
    (package / "__init__.py").write_text(cog_source(app, tables), encoding="utf-8")
    (root / "bot.py").write_text(BOT_MODULE.format(url=url, app=app), encoding="utf-8")
    (root / "nxalembic.ini").write_text("[nxalembic]\nmodule = bot\nbot = bot\n", encoding="utf-8")


def migrate_command(bin_dir: Path, app: str) -> tuple[list[str], dict[str, str]]:
    """Its ``nxalembic migrate`` for one app; its console script needs the project on the path."""
    env = dict(os.environ, PYTHONPATH=".", PYTHONDONTWRITEBYTECODE="1")
    env.pop("VIRTUAL_ENV", None)
    return [str(bin_dir / "nxalembic"), "migrate", "--app", app], env
