"""Coded concepts the DICOM SEG and SR use, chosen once here and documented.

SNOMED CT (scheme "SCT") codes were taken from pydicom's SR code dictionary (``pydicom.sr.codedict``)
where it has them; the thoracic vertebrae T2-T9, absent there, were looked up through pydicom's
SNOMED-RT -> SNOMED-CT table (``pydicom.sr._snomed_dict``: T-11720 ... T-11790), the same vertebra
series as the dictionary's T1 (T-11710) and T10-T12 (T-117A0..C0).

Tissue segments (category: Tissue, SCT 85756007):

==================  ==================================  ========================================
contract name       segmented property type             modifier / anatomic context
==================  ==================================  ========================================
skeletal_muscle     Skeletal muscle (SCT 127954009)     --
imat                Adipose tissue (SCT 55603005)       primary anatomic structure: skeletal muscle
sat                 Adipose tissue (SCT 55603005)       anatomic region: subcutaneous tissue (71966008)
vat                 Adipose tissue (SCT 55603005)       anatomic region: abdominal cavity (SCT 52731004)
bone                Bone tissue (SCT 3138006)           --
other_soft_tissue   Soft tissue (SCT 87784001)          --
==================  ==================================  ========================================

IMAT, SAT and VAT are one tissue type (fat) in different places, so they share the type code and
differ by anatomic context, which is how TID 1500 and CID 7151 express location; the segment labels
("IMAT", "SAT", "VAT") keep them apart for people.

Vertebra segments (category: Anatomical Structure, SCT 91723000) use the per-vertebra codes C1..L5.
SNOMED has no separate code for S1 in these tables, so S1 is coded as Sacrum (SCT 54735007) and
labelled "S1".

Measurement names (SR): area = Area (SCT 42798000); attenuation = Mean / Median Attenuation
Coefficient (DCM 112181 / 112182) in UCUM ``[hnsf'U]``; the skeletal muscle index and the trabecular
ROI have no standard code and use the project's private scheme ``99BONEMUSCLE`` (DICOM allows local
coding schemes whose designator starts with "99").
"""

from __future__ import annotations

from dataclasses import dataclass

from highdicom.sr import CodedConcept

PRIVATE_SCHEME = "99BONEMUSCLE"

TISSUE_CATEGORY = CodedConcept("85756007", "SCT", "Tissue")
ANATOMY_CATEGORY = CodedConcept("91723000", "SCT", "Anatomical Structure")

SKELETAL_MUSCLE = CodedConcept("127954009", "SCT", "Skeletal muscle")
ADIPOSE_TISSUE = CodedConcept("55603005", "SCT", "Adipose tissue")
BONE_TISSUE = CodedConcept("3138006", "SCT", "Bone tissue")
SOFT_TISSUE = CodedConcept("87784001", "SCT", "Soft tissue")
SUBCUTANEOUS_TISSUE = CodedConcept("71966008", "SCT", "Subcutaneous tissue")
ABDOMINAL_CAVITY = CodedConcept("52731004", "SCT", "Abdominal cavity structure")


@dataclass(frozen=True)
class TissueCode:
    """Segment label, property type and anatomic context of one tissue segment."""

    label: str
    type: CodedConcept
    regions: tuple[CodedConcept, ...] = ()
    structures: tuple[CodedConcept, ...] = ()


TISSUE_CODES: dict[str, TissueCode] = {
    "skeletal_muscle": TissueCode("Skeletal muscle", SKELETAL_MUSCLE),
    "imat": TissueCode("IMAT", ADIPOSE_TISSUE, structures=(SKELETAL_MUSCLE,)),
    "sat": TissueCode("SAT", ADIPOSE_TISSUE, regions=(SUBCUTANEOUS_TISSUE,)),
    "vat": TissueCode("VAT", ADIPOSE_TISSUE, regions=(ABDOMINAL_CAVITY,)),
    "bone": TissueCode("Bone", BONE_TISSUE),
    "other_soft_tissue": TissueCode("Other soft tissue", SOFT_TISSUE),
}

_VERTEBRA_SCT: dict[str, str] = {
    "C1": "14806007",
    "C2": "39976000",
    "C3": "113205007",
    "C4": "5329002",
    "C5": "36978003",
    "C6": "36054005",
    "C7": "87391001",
    "T1": "64864005",
    "T2": "53733008",
    "T3": "1626008",
    "T4": "73071006",
    "T5": "56401006",
    "T6": "45296009",
    "T7": "62487009",
    "T8": "11068009",
    "T9": "82687006",
    "T10": "7610001",
    "T11": "12989004",
    "T12": "23215003",
    "L1": "66794005",
    "L2": "14293000",
    "L3": "36470004",
    "L4": "11994002",
    "L5": "49668003",
}


def vertebra_code(name: str) -> CodedConcept:
    """SNOMED code of vertebra ``name`` (C1..L5; S1 as Sacrum).

    Raises:
        KeyError: for a name outside the contract's vertebra vocabulary.
    """
    if name == "S1":
        return CodedConcept("54735007", "SCT", "Sacrum")
    return CodedConcept(_VERTEBRA_SCT[name], "SCT", f"{name} vertebra")


def tissue_code(name: str) -> TissueCode:
    """Coding of a tissue label; names outside the table are coded generically as Tissue."""
    return TISSUE_CODES.get(name, TissueCode(name.replace("_", " ").capitalize(), TISSUE_CATEGORY))


# --- SR measurement names and units -----------------------------------------------------------------
AREA = CodedConcept("42798000", "SCT", "Area")
MEAN_ATTENUATION = CodedConcept("112181", "DCM", "Mean Attenuation Coefficient")
MEDIAN_ATTENUATION = CodedConcept("112182", "DCM", "Median Attenuation Coefficient")
SKELETAL_MUSCLE_INDEX = CodedConcept(
    "SMI", PRIVATE_SCHEME, "Skeletal muscle index (L3 area / height squared)"
)
TRABECULAR_BONE = CodedConcept("TRAB", PRIVATE_SCHEME, "Trabecular bone of vertebral body")

UNIT_CM2 = CodedConcept("cm2", "UCUM", "square centimeter")
UNIT_HU = CodedConcept("[hnsf'U]", "UCUM", "Hounsfield unit")
UNIT_CM2_PER_M2 = CodedConcept("cm2/m2", "UCUM", "square centimeter per square meter")
