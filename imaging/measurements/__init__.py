"""Pure measurements over (volume, label maps): level slices, areas, attenuation, bone, SMI."""
