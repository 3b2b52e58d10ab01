#!/usr/bin/env python3
"""Public items of the crate whose doc comment has no example.

Usage: python3 scripts/examples_missing.py [SRC_DIR]   (default: src)

Counts every `pub fn/struct/enum/trait/const/static/type` (methods
included) outside `#[cfg(test)]` modules, the CLI and trait impls (those
are documented on the trait), and reports the ones whose doc comment has
no ``` block. Items outside the stable surface are counted apart as
hidden: `#[doc(hidden)]` items, and the crate-private modules whose items
only the hidden `unstable` modules re-export (`kernel.rs`, the GPU shader
table and uniforms). Macro templates (`$field`) are skipped: their
examples are written at each macro call.
"""
import pathlib
import re
import sys

# Private modules (or items) reachable only through `#[doc(hidden)] unstable`.
HIDDEN_FILES = {"kernel.rs", "gpu/shaders.rs"}
HIDDEN_ITEMS = {("gpu/fill.rs", "FillParams"), ("gpu/fill.rs", "SIZE"),
                ("gpu/structured.rs", "StructureParams"), ("gpu/structured.rs", "SIZE")}
ITEM = re.compile(r"\s*pub (?:unsafe |const )?(fn|struct|enum|trait|const|static|type) (\w+)")


def main(root):
    root = pathlib.Path(root)
    missing, hidden, total = [], 0, 0
    for path in sorted(root.rglob("*.rs")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("cli/") or rel == "main.rs":
            continue
        lines = path.read_text().split("\n")
        in_tests, trait_impl = False, False
        for i, line in enumerate(lines):
            if re.match(r"\s*#\[cfg\((all\()?test", line):
                in_tests = True
            if in_tests:
                continue
            if re.match(r"\s*impl\b", line):
                trait_impl = re.match(r"\s*impl(<[^>]*>)?\s+\S+\s+for\s", line) is not None
            m = ITEM.match(line)
            if not m or "$" in line or (trait_impl and line.startswith("    ")):
                continue
            j, doc = i - 1, []
            while j >= 0 and lines[j].strip().startswith(("///", "#[", "//")):
                doc.append(lines[j].strip())
                j -= 1
            if any(d.startswith("#[cfg(doctest") or d.startswith("#[cfg(all(doctest") for d in doc):
                continue
            if (rel in HIDDEN_FILES or (rel, m.group(2)) in HIDDEN_ITEMS
                    or "#[doc(hidden)]" in doc):
                hidden += 1
                continue
            total += 1
            if not any("```" in d for d in doc):
                missing.append(f"src/{rel}:{i + 1}: {line.strip()[:90]}")
    print("\n".join(missing))
    print(f"{len(missing)} of {total} public items without an example "
          f"({hidden} hidden or crate-private items not counted)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "src")
