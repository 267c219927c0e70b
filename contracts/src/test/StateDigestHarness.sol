// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ChannelParams, State} from "../ChanvmTypes.sol";
import {StateDigest} from "../StateDigest.sol";
import {Sig} from "../Sig.sol";

/// @notice Exposes the digest and signature libraries, so tests can run them in the sandbox and on
/// chain and compare with TypeScript.
contract StateDigestHarness {
    function channelId(ChannelParams calldata p) external pure returns (bytes32) {
        return StateDigest.channelId(p);
    }

    function digest(ChannelParams calldata p, State calldata s) external pure returns (bytes32) {
        return StateDigest.digest(p, s);
    }

    function recover(bytes32 d, bytes calldata sig) external pure returns (address) {
        return Sig.recoverCalldata(d, sig);
    }
}
