"""README says exactly what `make test` does to the host: every Debian package the Makefile may
install is named there, and it claims no change the Makefile does not make."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def makefile_packages() -> list[str]:
    packages = []
    for line in (REPO / "Makefile").read_text().splitlines():
        found = re.match(r"APT_PACKAGES \+= (.+?)\s+#", line)
        if found:
            value = found.group(1)
            conditional = re.search(r",\s*([\w.+-]+)\)$", value)  # $(if $(shell command -v npm),,npm)
            packages.append(conditional.group(1) if conditional else value.strip())
    return packages


def test_every_debian_package_make_test_may_install_is_named_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("**What `make test` does to the host.**"):]
    section = section[:section.index("\n## ")]
    packages = makefile_packages()
    assert len(packages) >= 10 and "qemu-user-static" in packages and "npm" in packages
    for package in packages:
        assert f"`{package}`" in section, package
    # The layer build downloads arm64 packages itself (no apt): the host's dpkg is left alone,
    # and the README must not say otherwise.
    adds_architecture = "dpkg --add-architecture" in (REPO / "Makefile").read_text()
    assert ("--add-architecture" in section) == adds_architecture
