"""Solara's browser assets on a machine that cannot reach Solara's CDN.

A Solara page loads its JavaScript and CSS (the Vuetify app, RequireJS, Font Awesome, the
draggable chart grid) from a CDN through the server, which keeps a copy of each file in
its proxy cache folder (``<sys.prefix>/share/solara/cdn``) and serves the copy when it is
there. These files are npm packages, so where only the npm registry is reachable,
``ensure_assets`` fills the cache with ``npm pack`` (the ordinary npm client) and the page
works offline. Package versions are read from Solara's own files, so they follow Solara
upgrades.

    python -m cellsim.viz.assets        # fill the cache (idempotent)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SENTINEL = ".cellsim-complete"


def cache_dir() -> Path:
    """Solara's proxy cache folder for CDN files."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def needed_packages() -> list[str]:
    """``name@version`` of the npm packages Solara's page template loads from the CDN."""
    import ipyvue
    import solara.server
    from solara.server import settings

    template = Path(solara.server.__file__).parent / "templates" / "solara.html.j2"
    text = template.read_text(encoding="utf-8")
    app = "solara-vuetify3-app" if ipyvue.__version__.startswith("3") else "solara-vuetify-app"
    wanted = [
        m.group(1)
        for m in re.finditer(r"\{\{cdn\}\}/((?:@[\w.-]+/)?[\w.-]+@[\w.-]+)/", text)
        if "solara-vuetify" not in m.group(1) or f"/{app}@" in m.group(1)
    ]
    # Mesa's page lays its charts out with Solara's GridDraggable, which loads its own.
    for vue in sorted((template.parent.parent.parent / "widgets" / "vue").glob("gridlayout*.vue")):
        pattern = r"\}/((?:@[\w.-]+/)?[\w.-]+@[\w.-]+)/"
        wanted += re.findall(pattern, vue.read_text(encoding="utf-8"))
    if settings.assets.fontawesome_enabled:
        wanted.append(settings.assets.fontawesome_path.strip("/").split("/")[0])
    return sorted(set(wanted))


def missing_packages() -> list[str]:
    """The needed packages not yet in the cache."""
    root = cache_dir()
    return [p for p in needed_packages() if not (root / p / SENTINEL).is_file()]


def ensure_assets(log=print) -> list[str]:
    """Put every missing package into Solara's cache with ``npm pack``; return the ones
    added. Raises RuntimeError when npm is absent or fails."""
    todo = missing_packages()
    if not todo:
        return []
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is needed to fetch Solara's browser assets ({', '.join(todo)})")
    root = cache_dir()
    with tempfile.TemporaryDirectory() as tmp:
        for spec in todo:
            log(f"cellsim viz: fetching {spec} from the npm registry into {root}")
            out = subprocess.run(
                [npm, "pack", spec, "--silent", "--pack-destination", tmp],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                raise RuntimeError(f"npm pack {spec} failed: {out.stderr.strip()[-500:]}")
            tarball = Path(tmp) / out.stdout.strip().splitlines()[-1]
            dest = root / spec
            with tarfile.open(tarball) as tar:
                members = [m for m in tar.getmembers() if m.name.startswith("package/")]
                for m in members:
                    m.name = m.name.removeprefix("package/")
                tar.extractall(dest, members=members, filter="data")
            (dest / SENTINEL).write_text(spec + "\n")
    return todo


if __name__ == "__main__":
    try:
        added = ensure_assets()
    except RuntimeError as exc:
        print(f"cellsim viz: {exc}", file=sys.stderr)
        sys.exit(1)
    print("cellsim viz: assets " + ("added: " + ", ".join(added) if added else "already there"))
