"""Transactions: the coordinator, its __transaction_state log and the partition side."""
