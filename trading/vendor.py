"""Copies the front-end libraries installed by `npm ci` into static/vendor/<name>-<version>/ (run by
the set-up; git ignores the result) and resolves their URLs for templates. No CDN, nothing at run time."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
DEST = ROOT / "static" / "vendor"

#: package → (short name, files or folders relative to the package, kept under the same relative path)
FILES: dict[str, tuple[str, list[str]]] = {
    "bootstrap": ("bootstrap", ["dist/css/bootstrap.min.css", "dist/js/bootstrap.bundle.min.js", "LICENSE"]),
    "bootstrap-icons": ("bootstrap-icons", ["font/bootstrap-icons.min.css", "font/fonts", "LICENSE"]),
    "htmx.org": ("htmx", ["dist/htmx.min.js", "LICENSE"]),
    "@alpinejs/csp": ("alpine-csp", ["dist/cdn.min.js"]),
    "echarts": ("echarts", ["dist/echarts.min.js", "LICENSE"]),
    "nzh": ("nzh", ["dist/nzh.cn.min.js", "LICENSE"]),
    # HPKE for the browser sealing library (static/js/sealing/envelope.js imports esm/mod.js)
    "@hpke/core": ("hpke-core", ["esm", "LICENSE"]),
    "@hpke/common": ("hpke-common", ["esm", "LICENSE"]),
    "fflate": ("fflate", ["esm/browser.js", "LICENSE"]),
}

#: bare ES-module specifiers a browser cannot resolve without an import map (an inline script, which
#: the CSP forbids): short name → {specifier: (short name of the target, path in it)}; copied .js files
#: of that package get the specifier replaced by a relative URL.
REWRITE: dict[str, dict[str, tuple[str, str]]] = {
    "hpke-core": {"@hpke/common": ("hpke-common", "esm/mod.js")},
}


def versions() -> dict[str, str]:
    """short name → pinned version, from package.json (the lockfile pins the tree)."""
    deps = json.loads((ROOT / "package.json").read_text())["dependencies"]
    return {short: deps[pkg] for pkg, (short, _) in FILES.items()}


def copy_all() -> list[Path]:
    copied = []
    vers = versions()
    for pkg, (short, files) in FILES.items():
        target = DEST / f"{short}-{vers[short]}"
        for rel in files:
            src = NODE / pkg / rel
            if not src.exists():
                if rel == "LICENSE":
                    continue
                raise SystemExit(f"missing {src}: run `npm ci` first")
            dst = target / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)
            copied.append(dst)
        _rewrite_specifiers(target, REWRITE.get(short, {}), vers)
    return copied


def _rewrite_specifiers(target: Path, specifiers: dict[str, tuple[str, str]], vers: dict[str, str]) -> None:
    for spec, (short, path) in specifiers.items():
        dest = DEST / f"{short}-{vers[short]}" / path
        for js in target.rglob("*.js"):
            text = js.read_text(encoding="utf-8")
            for quote in ('"', "'"):
                needle = f"from {quote}{spec}{quote}"
                if needle in text:
                    rel = os.path.relpath(dest, js.parent).replace(os.sep, "/")
                    text = text.replace(needle, f"from {quote}{rel if rel.startswith('.') else './' + rel}{quote}")
            js.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    files = copy_all()
    print(f"vendor: {len(files)} files into {DEST.relative_to(ROOT)}", file=sys.stderr)
