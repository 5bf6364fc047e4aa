"""The layer the five experiments share: the outcome grammar, statistics, the spec base, output
directories and the table writer."""
