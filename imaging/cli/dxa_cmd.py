"""``bonemuscle dxa PATH [--json]``: read DXA report(s) and print what was extracted.

PATH is a file or a folder (searched recursively; non-DXA files are skipped). Reports of one visit
(same patient id, vendor, format and exam date, e.g. APEX's one object per scan) are merged into one
result. ``--json`` prints the contract's object when PATH yields exactly one result, else a list of them.
Exit codes: 0 all read; 1 some DXA files failed (listed on stderr); 2 no such path; 3 nothing usable.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from imaging.cli import EXIT_NOTHING_USABLE, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, CliError
from imaging.dxa import DxaResult, scan_path


def add_parser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="read DXA report(s) and print what was extracted",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", help="a DXA report file (DICOM SR/SC, CSV export) or a folder")
    parser.add_argument("--json", action="store_true", help="print the contract's JSON instead of a table")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if not Path(args.path).exists():
        raise CliError(f"{args.path}: no such file or directory", EXIT_USAGE)
    scan = scan_path(args.path)
    for problem in scan.problems:
        print(f"bonemuscle dxa: {problem.reason}", file=sys.stderr)
    if not scan.results:
        looked = len(scan.not_dxa) + len(scan.problems)
        raise CliError(
            f"no usable DXA report under {args.path} ({looked} file(s) looked at, "
            f"{len(scan.problems)} DXA file(s) failed)",
            EXIT_NOTHING_USABLE,
        )
    if args.json:
        payload: Any = [r.to_json() for r in scan.results]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2))
    else:
        print("\n\n".join(format_result(r) for r in scan.results))
    return EXIT_SOME_FAILED if scan.problems else EXIT_OK


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def format_result(result: DxaResult) -> str:
    """A human-readable block: patient line, site table, body composition, warnings."""
    data = result.to_json()
    p = data["patient"]
    lines = [
        f"{result.source}",
        f"  {data['vendor']} {data['format']}: patient {p['id'] or '?'}  sex {p['sex'] or '?'}  "
        f"age {_fmt(p['age_years'], 'g')} y  height {_fmt(p['height_m'], '.3f')} m  "
        f"weight {_fmt(p['weight_kg'], '.1f')} kg",
    ]
    if data["sites"]:
        lines.append(f"  {'site':<20} {'BMD g/cm²':>10} {'T-score':>8} {'Z-score':>8}")
        for site, v in data["sites"].items():
            lines.append(
                f"  {site:<20} {_fmt(v['bmd_g_cm2'], '.3f'):>10} {_fmt(v['t_score'], '.1f'):>8} "
                f"{_fmt(v['z_score'], '.1f'):>8}"
            )
    bc = data["body_composition"]
    if bc["regions"]:
        lean = "excluding BMC" if bc["lean_definition"] == "excluding_bmc" else bc["lean_definition"]
        lines.append(
            f"  ALM {_fmt(bc['alm_kg'], '.3f')} kg  ALM/height² {_fmt(bc['almi_kg_m2'], '.2f')} kg/m²  "
            f"ALM/BMI {_fmt(bc['alm_bmi'], '.3f')}  (lean {lean})"
        )
        lines.append(f"  {'region':<20} {'lean g':>10} {'fat g':>10} {'BMC g':>10}")
        for region, m in bc["regions"].items():
            lines.append(
                f"  {region:<20} {_fmt(m['lean_g'], '.1f'):>10} {_fmt(m['fat_g'], '.1f'):>10} "
                f"{_fmt(m['bmc_g'], '.1f'):>10}"
            )
    lines += [f"  warning: {w}" for w in data["warnings"]]
    return "\n".join(lines)
