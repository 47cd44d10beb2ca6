"""Reading log directories: discover runs, tail their event files, decode, store."""
