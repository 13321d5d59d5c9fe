"""Ships the default content with the package: `intents/` is copied into the built package as
`bot/content/default/`, so that `pip install .` then `mehfooz chat` works from any folder.
Everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithContent(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:  # an editable install reads intents/ in the clone itself
            target = Path(self.build_lib, "bot", "content", "default")
            shutil.copytree(Path(__file__).parent / "intents", target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithContent})
