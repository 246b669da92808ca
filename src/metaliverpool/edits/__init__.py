"""Domain: scenarios and policy edits keyed by stable external ids."""
