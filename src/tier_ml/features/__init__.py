"""Point-in-time features, labels and the feature registry."""
