"""Write the synthetic sample tree (``sample_dicoms/``): DICOM studies, DXA exports, clinical.csv, truth.

Usage: ``.venv/bin/python scripts/make_sample_dicoms.py --out sample_dicoms --seed 20261122``.
The same seed gives byte-identical files. The plan is phantoms.study;
the writing is phantoms.samples.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from phantoms.samples import write_samples
from phantoms.study import roster

DEFAULT_SEED = 20261122


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created if absent)")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"generation seed (default {DEFAULT_SEED})"
    )
    parser.add_argument("--subjects", nargs="*", default=None, help="only these PatientIDs (default: all)")
    parser.add_argument(
        "--clean", action="store_true", help="remove generated subfolders of --out first (README.md is kept)"
    )
    args = parser.parse_args(argv)
    everyone = roster(args.seed)
    chosen = everyone
    if args.subjects:
        unknown = set(args.subjects) - {s.patient_id for s in everyone}
        if unknown:
            print(f"unknown subject(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        chosen = tuple(s for s in everyone if s.patient_id in args.subjects)
    if args.clean and args.out.is_dir():
        for child in args.out.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            elif child.name != "README.md":
                child.unlink()
    written = write_samples(args.out, args.seed, chosen)
    n_files = sum(1 for p in args.out.rglob("*") if p.is_file())
    size_mb = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file()) / 1e6
    print(
        f"wrote {len(written)} series/exports for {len(chosen)} subject(s): {n_files} files, {size_mb:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
