"""The build hook of `pip install ./python`: bundles libdojo-c.so into the package.

The library is the file named by $DOJO_LIBRARY when set; otherwise it is built from the Dojo checkout this folder
belongs to with `swift build -c release --product dojo-c` (the Swift toolchain must be installed; the build takes a
few minutes on two cores). Editable installs (`pip install -e python`) bundle nothing: the package then finds the
library through $DOJO_LIBRARY or the checkout's .build folders at import.
"""

import os
import pathlib
import shutil
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

CHECKOUT = pathlib.Path(__file__).resolve().parent.parent


def library() -> pathlib.Path:
    named = os.environ.get("DOJO_LIBRARY")
    if named:
        path = pathlib.Path(named)
        if not path.is_file():
            where = "" if path.is_absolute() else f" (pip builds in {pathlib.Path.cwd()}: give an absolute path)"
            raise SystemExit(f"DOJO_LIBRARY names {named!r}, which is not a file{where}; build it with "
                             "`swift build -c release --product dojo-c` or unset DOJO_LIBRARY")
        return path
    if not (CHECKOUT / "Package.swift").is_file():
        raise SystemExit(f"{CHECKOUT} is not a Dojo checkout (no Package.swift): set DOJO_LIBRARY to a built libdojo-c.so")
    if shutil.which("swift") is None:
        raise SystemExit("building libdojo-c.so needs the Swift toolchain (`swift` is not on PATH); install it, or set "
                         "DOJO_LIBRARY to a built libdojo-c.so")
    print("dojo-rl: building libdojo-c.so with `swift build -c release --product dojo-c` (a few minutes)")
    subprocess.run(["swift", "build", "-c", "release", "--product", "dojo-c"], cwd=CHECKOUT, check=True)
    binaries = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=CHECKOUT, check=True,
                              capture_output=True, text=True).stdout.strip()
    return pathlib.Path(binaries) / "libdojo-c.so"


class BuildWithLibrary(build_py):
    """build_py, then the Swift library copied beside the package's modules, and a .pth file that registers the
    Dojo/ ids when Gymnasium is imported (Gymnasium 1.x no longer loads entry points; see _dojo_rl_gymnasium.py)."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = pathlib.Path(self.build_lib) / "dojo_rl" / "libdojo-c.so"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(library(), target)
        hook = pathlib.Path(self.build_lib) / "dojo_rl_gymnasium.pth"
        hook.write_text("import _dojo_rl_gymnasium; _dojo_rl_gymnasium.install()\n")


class NativeDistribution(Distribution):
    """Marks the wheel as platform-specific: it carries a Linux shared library."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=NativeDistribution)
