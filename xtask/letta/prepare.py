"""Fetch Letta's sdist from PyPI and prepare what `cargo xtask letta-up` needs.

usage: python3 prepare.py VERSION DEST
Writes DEST/src (uv.lock, alembic.ini, alembic/) and DEST/constraints.txt: every package that
uv.lock pins to a single version (an unpinned install of Letta 0.16.8 is broken).
Uses only the package registry (PIP_INDEX_URL, default https://pypi.org/simple).
"""

import hashlib
import io
import json
import os
import sys
import tarfile
import tomllib
import urllib.request

version, dest = sys.argv[1], sys.argv[2]
index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
request = urllib.request.Request(
    f"{index}/letta/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
)
with urllib.request.urlopen(request, timeout=60) as r:
    files = json.load(r)["files"]
name = f"letta-{version}.tar.gz"
entry = next((f for f in files if f["filename"] == name), None)
if entry is None:
    sys.exit(f"prepare: {name} is not on {index}")
with urllib.request.urlopen(entry["url"], timeout=300) as r:
    data = r.read()
digest = hashlib.sha256(data).hexdigest()
if digest != entry["hashes"].get("sha256", digest):
    sys.exit(f"prepare: sha256 mismatch for {name}")

src = os.path.join(dest, "src")
os.makedirs(src, exist_ok=True)
prefix = f"letta-{version}/"
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
    wanted = [
        m
        for m in tar.getmembers()
        if m.name in (prefix + "uv.lock", prefix + "alembic.ini")
        or m.name.startswith(prefix + "alembic/")
    ]
    for m in wanted:
        m.name = m.name[len(prefix):]
    tar.extractall(src, members=wanted, filter="data")

with open(os.path.join(src, "uv.lock"), "rb") as f:
    lock = tomllib.load(f)
versions = {}
for package in lock["package"]:
    if "version" in package:
        versions.setdefault(package["name"], set()).add(package["version"])
pins = sorted(
    f"{n}=={next(iter(v))}" for n, v in versions.items() if len(v) == 1 and n != "letta"
)
with open(os.path.join(dest, "constraints.txt"), "w") as f:
    f.write("\n".join(pins) + "\n")
print(f"prepare: {name} ({len(data) // 1024} KiB, sha256 ok), {len(pins)} constraints")
