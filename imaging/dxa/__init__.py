"""DXA report import: vendor exports in, one vendor-neutral result (``bonemuscle dxa --json``) out.

Public surface: :func:`scan_path` (file or folder -> results per visit + problems), :func:`read_file`,
:class:`DxaResult` and its ``to_json()``. Readers per format live in ge_sr, ge_xml, hologic_sc and
csv_exports; the ALM rules in alm.
"""

from imaging.dxa.model import DxaResult, Region, ReportFormat, Site, Vendor
from imaging.dxa.read import DxaScan, NotDxa, merge_visits, read_file, scan_path

__all__ = [
    "DxaResult",
    "DxaScan",
    "NotDxa",
    "Region",
    "ReportFormat",
    "Site",
    "Vendor",
    "merge_visits",
    "read_file",
    "scan_path",
]
