"""Per-unit feedback: what failed, where, and what the figures should satisfy."""
