"""The coin economy over HTTP: wallets, coins, gifts, earnings, supporters, levels (ledger in ``store``)."""
