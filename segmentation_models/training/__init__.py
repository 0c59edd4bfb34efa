"""Training the segmentation networks: the optimisation, on cases given as arrays.

Modules, one job each:

* :mod:`.case` -- one case on the model grid and its targets as *sets of allowed classes* (a bit
  mask per voxel), so fully labelled phantoms, partially labelled TotalSegmentator maps and windowed
  manual labels are one kind of target; cached as ``.npz``;
* :mod:`.transforms` -- MONAI augmentation after the registry spec's own intensity normalisation;
* :mod:`.losses` -- Dice + cross-entropy over allowed-class sets;
* :mod:`.loop` -- the training loop (seeded, AMP on CUDA, checkpoint/resume, validation);
* :mod:`.recipes` -- the registry specs of the default networks (architecture, grid, classes);
* :mod:`.register` -- weights, ``model.json`` and the model card written together.

Where the cases come from (phantoms, real and user scans), how results are scored against the
reference standard, and fine-tuning on a department's labels are :mod:`training_data`, which sits
above the imaging stages; this package imports none of them.

Importing this package does nothing (torch and MONAI load inside the functions that need them).
"""
