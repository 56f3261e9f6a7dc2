"""Refresh the JavaScript the site serves itself (MathJax 3, the ipywidgets embed
manager).

The book's website must work offline, so nothing is loaded from a CDN. The files live in
``_vendor/`` (committed, about 3.7 MB) and Sphinx copies them into
``_build/html/_static/``. This script rebuilds ``_vendor/`` from the npm registry with
pinned versions; you only need it to upgrade a version. It needs ``npm`` (``npm pack``
downloads and checks the tarball's integrity).

    python scripts/vendor_web_assets.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "_vendor"

# package spec -> (destination under _vendor, files to keep: paths inside the tarball's
# package/)
PACKAGES: dict[str, tuple[str, list[str]]] = {
    "mathjax@3.2.2": (
        "mathjax",
        [
            "LICENSE",
            "es5/tex-chtml.js",
            "es5/input/tex/extensions/",
            "es5/output/chtml/fonts/woff-v2/",
        ],
    ),
    "@jupyter-widgets/html-manager@1.0.15": (
        "jupyter-widgets",
        ["dist/embed.js", "dist/embed.js.LICENSE.txt", "dist/*.woff2"],
    ),
}


def _strip(member: str) -> str:
    """Where a file of the tarball goes under its destination folder (drop package/,
    es5/, dist/)."""
    rel = member.removeprefix("package/")
    for prefix in ("es5/", "dist/"):
        rel = rel.removeprefix(prefix)
    return rel


def _wanted(rel: str, keep: list[str]) -> bool:
    from fnmatch import fnmatch

    return any(
        rel == k or (k.endswith("/") and rel.startswith(k)) or fnmatch(rel, k)
        for k in keep
    )


def main() -> int:
    if shutil.which("npm") is None:
        print(
            "vendor_web_assets: npm not found; install Node.js/npm to refresh _vendor/",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        for spec, (dest, keep) in PACKAGES.items():
            out = (
                subprocess.run(
                    ["npm", "pack", spec, "--silent", "--pack-destination", tmp],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            target = VENDOR / dest
            shutil.rmtree(target, ignore_errors=True)
            with tarfile.open(Path(tmp) / out) as tar:
                for member in tar.getmembers():
                    rel = member.name.removeprefix("package/")
                    if not member.isfile() or not _wanted(rel, keep):
                        continue
                    path = target / _strip(member.name)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with tar.extractfile(member) as src, open(path, "wb") as dst:
                        shutil.copyfileobj(src, dst)
            (target / "VERSION").write_text(spec + "\n")
            size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
            print(f"{spec} -> {target.relative_to(ROOT)} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
