"""Stage 7: the ADR and its companions rendered from evidence and registry, the narrative guard, the approval gate."""
