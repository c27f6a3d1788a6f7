"""EVM chain adapters (web3.py) behind ecco.services.payment_ports."""
