"""Exam descriptions built from the reference's published numbers (dxa-formats.md), for the DXA tests."""

from __future__ import annotations

import pytest

from phantoms.dxa_exports import BodyRegion, BoneSite, DxaExam, Subject

# Hologic public sample: limb lean (excluding BMC) 2002.0 + 2159.4 + 7102.9 + 6852.2 g = 18,116.5 g
HOLOGIC_LIMBS = {
    "arm_left": BodyRegion(lean_g=2002.0, fat_g=1210.5, bmc_g=131.2),
    "arm_right": BodyRegion(lean_g=2159.4, fat_g=1302.8, bmc_g=140.9),
    "leg_left": BodyRegion(lean_g=7102.9, fat_g=4470.1, bmc_g=371.4),
    "leg_right": BodyRegion(lean_g=6852.2, fat_g=4380.6, bmc_g=362.0),
    "trunk": BodyRegion(lean_g=19820.3, fat_g=9930.2, bmc_g=540.7),
    "head": BodyRegion(lean_g=3020.1, fat_g=1010.4, bmc_g=480.3),
}
# GE public sample: Arms lean 3085 g + Legs lean 10253 g = 13,338 g
GE_LIMB_TOTALS = {
    "arms": BodyRegion(lean_g=3085.0, fat_g=2012.0, bmc_g=301.0),
    "legs": BodyRegion(lean_g=10253.0, fat_g=6843.0, bmc_g=802.0),
    "trunk": BodyRegion(lean_g=17840.0, fat_g=11310.0, bmc_g=610.0),
}


@pytest.fixture
def spine_hip_exam() -> DxaExam:
    """BM001-like: spine and both hips, T-scores around -1.5 (GE DualFemur 'Neck Left' 0.826 / -1.5 / 0.7)."""
    return DxaExam(
        Subject("BM001", "M", 58, 1.78, 82.0),
        sites={
            "L1": BoneSite(0.951, -1.6, -1.0),
            "L2": BoneSite(1.012, -1.5, -0.9),
            "L3": BoneSite(1.048, -1.4, -0.8),
            "L4": BoneSite(1.061, -1.5, -0.9),
            "lumbar_spine_L1_L4": BoneSite(
                1.023, -1.5, -0.9, bmc_g=65.3, area_cm2=63.8, pya_pct=85, pam_pct=92
            ),
            "femoral_neck_left": BoneSite(0.826, -1.5, 0.7),
            "total_hip_left": BoneSite(0.902, -1.2, 0.4),
            "femoral_neck_right": BoneSite(0.840, -1.4, 0.8),
            "total_hip_right": BoneSite(0.915, -1.1, 0.5),
        },
    )


@pytest.fixture
def whole_body_exam() -> DxaExam:
    """BM002-like: spine, left hip, forearm and whole-body composition with the Hologic sample's limbs."""
    return DxaExam(
        Subject("BM002", "F", 74, 1.58, 48.0),
        sites={
            "L1": BoneSite(0.702, -2.9, -0.8),
            "L2": BoneSite(0.731, -2.8, -0.7),
            "L3": BoneSite(0.760, -2.6, -0.6),
            "L4": BoneSite(0.772, -2.7, -0.6),
            "lumbar_spine_L1_L4": BoneSite(0.745, -2.8, -0.7),
            "femoral_neck_left": BoneSite(0.541, -2.7, -0.6),
            "total_hip_left": BoneSite(0.622, -2.6, -0.5),
            "radius_33_left": BoneSite(0.598, -2.1, 0.2),
        },
        regions=HOLOGIC_LIMBS,
    )


@pytest.fixture
def hologic_limbs() -> dict[str, BodyRegion]:
    return dict(HOLOGIC_LIMBS)


@pytest.fixture
def ge_limb_totals() -> dict[str, BodyRegion]:
    return dict(GE_LIMB_TOTALS)
