"""Training data and evaluation for the segmentation networks: phantom and real cases, targets,
the reference standard and Dice reports, and fine-tuning on a department's labelled cases.

It sits above both the imaging stages (it reads DICOM and label files and applies the tissue rules)
and the networks library (it feeds ``segmentation_models.training``), so neither of those imports it.
"""
