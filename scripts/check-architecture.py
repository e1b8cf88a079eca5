#!/usr/bin/env python3
"""Keeps docs/architecture.md and Package.swift true to the code.

Checks, for every Swift target of the package:
  1. each module its sources import is declared in Package.swift (and, for the targets under
     Sources/, each declared dependency is imported: no stale arrows);
  2. docs/architecture.md has a section for it whose "Imports:" sentence names exactly the
     modules it imports (libc, i.e. Glibc/Musl, left out);
  3. sections come in import order: a target's section comes after the sections of every
     target of ours it imports.
Exits 1 with one line per mismatch, saying what to change. Run by scripts/test.sh.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBC = {"Glibc", "Musl"}
TOOLCHAIN = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Synchronization", "Dispatch"}
TEST_ONLY = {"Testing", "XCTest"}
IMPORT = re.compile(r"^[ \t]*(?:@[\w()]+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?(\w+)", re.M)


def package():
    out = subprocess.run(["swift", "package", "dump-package"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def dependency_name(dep):
    kind, value = next(iter(dep.items()))
    return value[0]


def target_directory(target):
    if target.get("path"):
        return os.path.join(ROOT, target["path"])
    base = "Tests" if target["type"] == "test" else "Sources"
    return os.path.join(ROOT, base, target["name"])


def imports_of(target):
    found = set()
    directory = target_directory(target)
    excluded = [os.path.join(directory, e) for e in target.get("exclude", [])]
    for folder, _, files in os.walk(directory):
        if any(folder == e or folder.startswith(e + os.sep) for e in excluded):
            continue
        for name in files:
            if name.endswith(".swift"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    found.update(IMPORT.findall(f.read()))
    return found


def doc_sections(known):
    """(order of target names, {name: set of modules named in its Imports sentence})."""
    with open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8") as f:
        text = f.read()
    order, named = [], {}
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        heading, _, body = block.partition("\n")
        names = re.findall(r"Sources/([\w-]+)", heading)
        if not names:
            continue
        match = re.search(r"Imports:(.*?)(?:\n\s*\n|\Z)", body, re.S)
        sentence = match.group(1) if match else None
        for name in names:
            order.append(name)
            named[name] = None if sentence is None else {w for w in re.findall(r"[\w-]+", sentence) if w in known}
    return order, named


def main():
    pkg = package()
    targets = [t for t in pkg["targets"] if t["type"] in ("regular", "executable", "test")]
    ours = {t["name"] for t in pkg["targets"]}
    # Products of package dependencies are named in the targets' dependency lists.
    products = set()
    for t in pkg["targets"]:
        for dep in t["dependencies"]:
            if "product" in dep:
                products.add(dependency_name(dep))
    known = ours | products | TOOLCHAIN
    problems = []
    order, named = doc_sections(known)
    position = {name: i for i, name in enumerate(order)}

    for t in targets:
        name, declared = t["name"], {dependency_name(d) for d in t["dependencies"]}
        imported = imports_of(t) - LIBC - TEST_ONLY
        modules = imported & (ours | products)
        for m in sorted(modules - declared - {name}):
            problems.append(f"Package.swift: target {name} imports {m} but does not declare it; add \"{m}\" to its dependencies")
        if t["type"] == "test":
            continue
        for m in sorted(declared - imported):
            problems.append(f"Package.swift: target {name} declares {m} but no source of it imports it; remove the dependency")
        if name not in named:
            problems.append(f"docs/architecture.md: no '## Sources/{name}' section; add one saying what {name} owns and its imports")
            continue
        if named[name] is None:
            problems.append(f"docs/architecture.md: the section of {name} has no 'Imports:' sentence")
            continue
        expected = imported & known
        for m in sorted(expected - named[name]):
            problems.append(f"docs/architecture.md: {name} imports {m}, which its 'Imports:' sentence does not name")
        for m in sorted(named[name] - expected):
            problems.append(f"docs/architecture.md: {name}'s 'Imports:' sentence names {m}, which {name} does not import")
        for m in sorted(modules & ours):
            if m in position and position[m] > position[name]:
                problems.append(f"docs/architecture.md: {name} imports {m}, so {m}'s section must come before {name}'s")
    for p in problems:
        print(p)
    if problems:
        print(f"check-architecture: {len(problems)} mismatch(es) between the code, Package.swift and docs/architecture.md")
        return 1
    print(f"check-architecture: {len(targets)} targets, imports, Package.swift and docs/architecture.md agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
