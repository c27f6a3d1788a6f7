// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

interface IIdentityRegistry {
    function ownerOf(uint256 agentId) external view returns (address);
}

/// @notice A stand-in for the ERC-8004 ReputationRegistry (v1.2 ABI: int128 value + valueDecimals) with what ecco
/// reads: giveFeedback, revokeFeedback, getClients, getSummary and the NewFeedback event. getSummary averages the
/// non-revoked feedback of the given clients (all clients when none are given) at 18 decimals.
contract ReputationRegistry {
    struct Feedback {
        int128 value;
        uint8 valueDecimals;
        string tag1;
        string tag2;
        bool isRevoked;
    }

    IIdentityRegistry private immutable _identity;
    mapping(uint256 => address[]) private _clients;
    mapping(uint256 => mapping(address => Feedback[])) private _feedback;

    event NewFeedback(
        uint256 indexed agentId,
        address indexed clientAddress,
        uint64 feedbackIndex,
        int128 value,
        uint8 valueDecimals,
        string tag1,
        string tag2
    );
    event FeedbackRevoked(uint256 indexed agentId, address indexed clientAddress, uint64 indexed feedbackIndex);

    constructor(address identityRegistry) {
        _identity = IIdentityRegistry(identityRegistry);
    }

    function getIdentityRegistry() external view returns (address) {
        return address(_identity);
    }

    function giveFeedback(
        uint256 agentId,
        int128 value,
        uint8 valueDecimals,
        string calldata tag1,
        string calldata tag2,
        string calldata,
        string calldata,
        bytes32
    ) external {
        require(valueDecimals <= 18, "decimals");
        require(_identity.ownerOf(agentId) != msg.sender, "self feedback");
        if (_feedback[agentId][msg.sender].length == 0) {
            _clients[agentId].push(msg.sender);
        }
        _feedback[agentId][msg.sender].push(Feedback(value, valueDecimals, tag1, tag2, false));
        uint64 index = uint64(_feedback[agentId][msg.sender].length);
        emit NewFeedback(agentId, msg.sender, index, value, valueDecimals, tag1, tag2);
    }

    function revokeFeedback(uint256 agentId, uint64 feedbackIndex) external {
        require(feedbackIndex > 0 && feedbackIndex <= _feedback[agentId][msg.sender].length, "index");
        _feedback[agentId][msg.sender][feedbackIndex - 1].isRevoked = true;
        emit FeedbackRevoked(agentId, msg.sender, feedbackIndex);
    }

    function getClients(uint256 agentId) external view returns (address[] memory) {
        return _clients[agentId];
    }

    function getSummary(uint256 agentId, address[] calldata clientAddresses, string calldata, string calldata)
        external
        view
        returns (uint64 count, int128 summaryValue, uint8 summaryValueDecimals)
    {
        address[] memory clients = _clients[agentId];
        if (clientAddresses.length > 0) {
            clients = clientAddresses;
        }
        int256 total;
        for (uint256 c = 0; c < clients.length; c++) {
            Feedback[] storage given = _feedback[agentId][clients[c]];
            for (uint256 i = 0; i < given.length; i++) {
                if (!given[i].isRevoked) {
                    total += int256(given[i].value) * int256(10 ** (18 - given[i].valueDecimals));
                    count++;
                }
            }
        }
        summaryValueDecimals = 18;
        summaryValue = count == 0 ? int128(0) : int128(total / int256(uint256(count)));
    }
}
