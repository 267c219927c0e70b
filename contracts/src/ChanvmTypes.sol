// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Fixed for the life of a channel. `channelId = keccak256(abi.encode(params))`.
struct ChannelParams {
    uint256 chainId;
    address adjudicator;
    address[] participants;
    address app;
    bytes32 appCodeHash;
    uint64 challengeDuration;
    uint256 nonce;
}

/// @notice One version of a channel. `balances[i]` is what participant i gets if the channel
/// closed now; their sum never changes. `appData` is the app's ABI-encoded state.
struct State {
    bytes32 channelId;
    uint64 version;
    uint256[] balances;
    bytes appData;
    bool isFinal;
}

/// @notice The time a step is evaluated at: the real block on chain, a proposed one off chain.
struct Env {
    uint64 blockNumber;
    uint64 timestamp;
}
