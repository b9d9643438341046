"""The load scenarios of ``mixillo bench``: each drives a running server through its public interfaces."""
