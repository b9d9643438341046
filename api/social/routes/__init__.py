"""HTTP handlers of the social domains, one module per domain, each with its request and response models."""
