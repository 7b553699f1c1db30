"""Puts the start-up files at the top of the wheel, so that they land in site-packages.

All metadata lives in setup.cfg. The start-up files (sources in startup/) make
every interpreter run ``g4f_hailuo._install()`` (the bridge's start-up half):

- ``g4f_hailuo.pth``: its import line runs at start-up (Python <= 3.17);
- ``g4f_hailuo.start``: PEP 829 (Python >= 3.15) calls ``g4f_hailuo:_install``
  and then ignores the import line of the ``.pth`` file of the same name.

A wheel's top level is ``build_lib`` for a regular build. For an editable
install (``pip install -e .``) setuptools >= 64 ignores ``build_lib`` and builds
the wheel from the ``install`` command's ``install_lib``, which it points at the
unpacked editable wheel; the files are copied there in that case.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

STARTUP_FILES = ("startup/g4f_hailuo.pth", "startup/g4f_hailuo.start")


class build_py_with_startup_files(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            top_level = self.get_finalized_command("install").install_lib
        else:
            top_level = self.build_lib
        for source in STARTUP_FILES:
            self.copy_file(source, str(Path(top_level, Path(source).name)), preserve_mode=False)


setup(cmdclass={"build_py": build_py_with_startup_files})
