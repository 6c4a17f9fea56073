"""Every table and every query: the ledger (writes, runs, cursors, snapshots, baskets) and the
outcome store. No other package touches a table."""
