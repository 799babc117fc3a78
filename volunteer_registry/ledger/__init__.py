"""The hours ledger: entries, the Merkle log over them, signed checkpoints."""
