// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ChannelParams, State} from "./ChanvmTypes.sol";

/// @notice EIP-712 hashing of channel states and the channel id.
/// Domain: {name: "chanvm", version: "1", chainId: params.chainId, verifyingContract: params.adjudicator}.
library StateDigest {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant NAME_HASH = keccak256("chanvm");
    bytes32 internal constant VERSION_HASH = keccak256("1");
    bytes32 internal constant STATE_TYPEHASH =
        keccak256("State(bytes32 channelId,uint64 version,uint256[] balances,bytes appData,bool isFinal)");

    function channelId(ChannelParams calldata p) internal pure returns (bytes32) {
        return keccak256(abi.encode(p));
    }

    function domainSeparator(uint256 chainId, address adjudicator) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chainId, adjudicator));
    }

    function structHash(State calldata s) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                STATE_TYPEHASH,
                s.channelId,
                s.version,
                keccak256(abi.encodePacked(s.balances)),
                keccak256(s.appData),
                s.isFinal
            )
        );
    }

    function structHashMemory(State memory s) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                STATE_TYPEHASH,
                s.channelId,
                s.version,
                keccak256(abi.encodePacked(s.balances)),
                keccak256(s.appData),
                s.isFinal
            )
        );
    }

    function toTyped(bytes32 domain, bytes32 hash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domain, hash));
    }

    function digest(ChannelParams calldata p, State calldata s) internal pure returns (bytes32) {
        return toTyped(domainSeparator(p.chainId, p.adjudicator), structHash(s));
    }
}
