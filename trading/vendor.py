"""Copies the front-end libraries installed by `npm ci` into static/vendor/<name>-<version>/ (run by
the set-up; git ignores the result) and resolves their URLs for templates. No CDN, nothing at run time."""

from __future__ import annotations

import json
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
    return copied


if __name__ == "__main__":
    files = copy_all()
    print(f"vendor: {len(files)} files into {DEST.relative_to(ROOT)}", file=sys.stderr)
