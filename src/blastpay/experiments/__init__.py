"""One module per experiment; each returns plain tables (DataFrames, dicts) that notebooks show and write."""
