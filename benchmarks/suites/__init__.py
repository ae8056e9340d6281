"""One module per benchmark group, in the order ``make bench`` runs them: ``big``, ``cold``,
``replay``, ``regress``. Each owns its sizes and targets and returns its results dict."""
