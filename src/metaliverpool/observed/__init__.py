"""Domain: observations of real traffic (counts, screenlines, journey times, area speeds) and targets."""
