"""Build hook (the project metadata is in pyproject.toml): a wheel carries what a device needs
besides code -- the board profiles with the zoo's public key (``board_configs/``) and the
shipped signed bundles (``models/zoo/bundles/*/``) -- under ``firmware_py/_data/``, where
``firmware_py.shipped`` finds them. Editable installs read them from the checkout instead."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("board_configs", "models/zoo/bundles")


def _bundle_files(folder: Path) -> list[Path]:
    """Every file of ``folder``, keeping only bundle directories (a manifest.json inside) under
    the bundles folder, so build scripts stay out of the wheel."""
    files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    if folder.name != "bundles":
        return files
    return [p for p in files if len(p.relative_to(folder).parts) > 1
            and (folder / p.relative_to(folder).parts[0] / "manifest.json").is_file()]


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        data = Path(self.build_lib) / "firmware_py" / "_data"
        for relative in SHIPPED:
            source = ROOT / relative
            for path in _bundle_files(source):
                target = data / relative / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)


setup(cmdclass={"build_py": BuildPyWithData})
