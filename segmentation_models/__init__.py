"""bonemuscle segmentation models: MONAI networks, weights, model registry, training and phantoms."""
