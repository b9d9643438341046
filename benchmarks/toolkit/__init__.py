"""``mixillo bench``: load scenarios against a running server, results as JSON and HTML, comparisons."""
