"""Trust and safety: reports, the moderation queue and its audited actions, support tickets."""
