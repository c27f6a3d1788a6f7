"""The chain table shared by wallet, settlement and registry (upstream-ecco §1, fixing §13 #4 and #11): default
RPC URLs and ERC-8004 IdentityRegistry addresses per chain id, and the default chain per network."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_RPC_URLS: Mapping[int, str] = {
    1: "https://eth.llamarpc.com",
    11155111: "https://rpc.sepolia.org",
    143: "https://rpc.monad.xyz",
    10143: "https://testnet-rpc.monad.xyz",
    31337: "http://127.0.0.1:8545",
}

IDENTITY_REGISTRIES: Mapping[int, str] = {
    1: "0x8004A169FB4a3325136EB29fA0ceB6D2e539a432",
    11155111: "0x8004A818BFB912233c491871b3d84c89A494BD9e",
}

REPUTATION_REGISTRIES: Mapping[int, str] = {
    1: "0x8004BAa17C55a88189AE136b182e5fdA19dE9b63",
    11155111: "0x8004B663056A597Dffe9eCcC1965A193B7388713",
}

DEFAULT_CHAIN_BY_NETWORK: Mapping[str, int] = {"testnet": 11155111, "mainnet": 143}
