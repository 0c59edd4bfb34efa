"""Vendor-shaped DXA exports built from a plain description of one exam (synthetic fixtures).

No real DXA export may be redistributed, so the project's tests and sample studies use files written here from
the layouts documented in ../shared/reference/dxa-formats.md:

- GE Lunar enCORE Enhanced SR (root "DXA Report" -> scan containers -> region containers -> BMD/T/Z... items);
- GE ImageComments (0020,4000) XML on a DXA image: newer ``<DXA_RESULTS>``, older ``<DENSITOMETRY_RESULTS>``;
- Hologic APEX secondary capture with the (0019,1000) text block (PatInfo.js, ScanInfo.js, Results.js tables);
- Hologic APEX database-style CSV and NHANES-style CSV.

What is documented is reproduced (container names, item meanings, column names). What is NOT public is
our own vocabulary, chosen to be readable and stated here so nobody mistakes it for the vendor's: GE's
SR/XML items for body composition ("Body Composition" scan; "Lean Mass", "Fat Mass", "BMC", "Tissue Mass",
"Total Mass"), the code values (private scheme ``99BONEMUSCLE``; readers match meanings, never codes), the
older GE XML nesting (``<SCAN><TREND><ROI region=..>``), Hologic's dual-hip row labels ("Neck Left"...),
ScanInfo ``Side``, and the extra CSV columns (``HIP_SIDE``, ``FOREARM_SIDE``, optional
``*_TSCORE``/``*_ZSCORE``).

Modules: exam (the description, shared DICOM header), ge, hologic, tabular. Everything is deterministic:
UIDs are hashed from the exam's seed, dates are fixed by the description.
"""

from phantoms.dxa_exports.exam import (
    ENHANCED_SR,
    HOLOGIC_CREATOR,
    PRIVATE_SCHEME,
    SECONDARY_CAPTURE,
    BodyRegion,
    BoneSite,
    DxaExam,
    MassUnit,
    Subject,
    save,
)
from phantoms.dxa_exports.ge import (
    GeSrOptions,
    GeXmlLayout,
    ge_enhanced_sr,
    ge_results_xml,
    ge_scans,
    ge_xml_image,
    write_ge_enhanced_sr,
    write_ge_xml_image,
)
from phantoms.dxa_exports.hologic import (
    HologicOptions,
    HologicScan,
    hologic_sc,
    hologic_scans,
    hologic_text_block,
    write_hologic_reports,
)
from phantoms.dxa_exports.tabular import (
    apex_rows,
    nhanes_rows,
    write_apex_csv,
    write_csv,
    write_nhanes_csv,
)

__all__ = [
    "ENHANCED_SR",
    "HOLOGIC_CREATOR",
    "PRIVATE_SCHEME",
    "SECONDARY_CAPTURE",
    "BodyRegion",
    "BoneSite",
    "DxaExam",
    "GeSrOptions",
    "GeXmlLayout",
    "HologicOptions",
    "HologicScan",
    "MassUnit",
    "Subject",
    "apex_rows",
    "ge_enhanced_sr",
    "ge_results_xml",
    "ge_scans",
    "ge_xml_image",
    "hologic_sc",
    "hologic_scans",
    "hologic_text_block",
    "nhanes_rows",
    "save",
    "write_apex_csv",
    "write_csv",
    "write_ge_enhanced_sr",
    "write_ge_xml_image",
    "write_hologic_reports",
    "write_nhanes_csv",
]
