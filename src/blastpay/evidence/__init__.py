"""Stage 6: the evidence writer, input validation, manifest, notebook runner, `blastpay evidence` / `check` / `report`."""
