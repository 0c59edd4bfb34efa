"""The package tree shows the data flow: no stage imports a later one, the networks library no stage.

ingest → volume → segmentation → levels → measurements → classification → outputs, with pipeline,
batch and cli on top (docs/architecture.md). ``segmentation_models`` is the networks library: it
imports nothing from ``imaging`` or ``phantoms``, and ``imaging`` reaches networks only through it.
``phantoms`` (synthetic data) and ``training_data`` (cases and evaluation for training) sit above
the stages; the stages import neither.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Rank of each imaging subpackage in the flow; an import must go to a strictly lower rank.
RANK = {
    "imaging": 0,  # the package itself (version)
    "imaging.plausible": 0,
    "imaging.notices": -1,  # warnings as values: any stage may make them
    "imaging.series_facts": -1,  # what a Volume carries: below the Volume
    "imaging.schema": -1,  # results.json as types: any stage may fill or read it
    "imaging.volume": 0,
    "imaging.ingest": 1,
    "imaging.dxa": 2,  # reads DXA reports (DICOM through ingest)
    "imaging.segmentation": 2,
    "imaging.levels": 3,
    "imaging.measurements": 4,
    "imaging.classification": 5,
    "imaging.clinical": 6,  # subject records feed classification
    "imaging.matching": 7,
    "imaging.outputs": 6,
    "imaging.pipeline": 8,
    "imaging.batch": 9,
    "imaging.cli": 10,
    "imaging.__main__": 11,
}


def _group(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "imaging":
        return "imaging" if len(parts) == 1 else f"imaging.{parts[1]}"
    if parts[0] == "segmentation_models":
        return "segmentation_models.training" if parts[1:2] == ["training"] else "segmentation_models"
    return parts[0]


def _imports() -> list[tuple[str, str, str]]:
    """(importing module, imported module, file) for every import of the three packages, lazy ones too."""
    found = []
    for package in ("imaging", "segmentation_models", "phantoms", "training_data"):
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    targets = [node.module]
                elif isinstance(node, ast.Import):
                    targets = [a.name for a in node.names]
                else:
                    continue
                found += [(module, t, str(path.relative_to(ROOT))) for t in targets]
    return found


def test_no_imaging_stage_imports_a_later_stage():
    wrong = []
    for module, target, path in _imports():
        a, b = _group(module), _group(target)
        if a in RANK and b in RANK and a != b and RANK[b] >= RANK[a]:
            wrong.append(f"{path}: {a} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_every_imaging_subpackage_has_a_place_in_the_flow():
    groups = {_group(m) for m, _, _ in _imports() if m.startswith("imaging")}
    assert groups <= set(RANK), sorted(groups - set(RANK))


def test_the_networks_library_imports_no_stage_no_phantom_and_no_training_data():
    wrong = []
    for module, target, path in _imports():
        a, b = _group(module), target.split(".")[0]
        if a.startswith("segmentation_models") and b in ("imaging", "phantoms", "training_data"):
            wrong.append(f"{path}: {module} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_imaging_imports_no_phantom_and_no_training_code():
    wrong = [
        f"{path}: {module} imports {target}"
        for module, target, path in _imports()
        if module.startswith("imaging")
        and target.startswith(("phantoms", "training_data", "segmentation_models.training"))
    ]
    assert not wrong, "\n".join(wrong)


def test_no_cycle_between_the_top_level_packages():
    """segmentation_models < imaging < phantoms < training_data: each imports only those before it."""
    order = ["segmentation_models", "imaging", "phantoms", "training_data"]
    wrong = [
        f"{path}: {module} imports {target}"
        for module, target, path in _imports()
        if target.split(".")[0] in order
        and order.index(target.split(".")[0]) > order.index(module.split(".")[0])
    ]
    assert not wrong, "\n".join(wrong)
