"""Did the offers work: outcome sync (deals won, lost, deleted; holdouts; plan and seat states),
the outcome report (table, JSON, HTML) and the backtest of playbooks over stored history."""
