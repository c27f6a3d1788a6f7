"""The few contract ABI fragments ecco calls: ERC-20 transfer/balanceOf and the ERC-8004 IdentityRegistry's
register(string, (string, bytes)[]) with its Registered event, and setAgentURI(uint256, string) (the official ABI's
names and types)."""

from __future__ import annotations

from typing import Any

ERC20: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "transfer",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "to", "type": "address"}, {"name": "value", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
]

IDENTITY_REGISTRY: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "register",
        "stateMutability": "nonpayable",
        "inputs": [
            {"name": "agentURI", "type": "string"},
            {
                "name": "metadata",
                "type": "tuple[]",
                "internalType": "struct IdentityRegistry.MetadataEntry[]",
                "components": [
                    {"name": "metadataKey", "type": "string"},
                    {"name": "metadataValue", "type": "bytes"},
                ],
            },
        ],
        "outputs": [{"name": "agentId", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "setAgentURI",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "agentId", "type": "uint256"}, {"name": "newURI", "type": "string"}],
        "outputs": [],
    },
]

# keccak256 of the event signatures, as topics[0]
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
REGISTERED_TOPIC_SIGNATURE = "Registered(uint256,string,address)"

REPUTATION_REGISTRY: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "getClients",
        "stateMutability": "view",
        "inputs": [{"name": "agentId", "type": "uint256"}],
        "outputs": [{"name": "", "type": "address[]"}],
    },
    {
        "type": "function",
        "name": "getSummary",
        "stateMutability": "view",
        "inputs": [
            {"name": "agentId", "type": "uint256"},
            {"name": "clientAddresses", "type": "address[]"},
            {"name": "tag1", "type": "string"},
            {"name": "tag2", "type": "string"},
        ],
        "outputs": [
            {"name": "count", "type": "uint64"},
            {"name": "summaryValue", "type": "int128"},
            {"name": "summaryValueDecimals", "type": "uint8"},
        ],
    },
]

METADATA_SET_SIGNATURE = "MetadataSet(uint256,string,string,bytes)"
