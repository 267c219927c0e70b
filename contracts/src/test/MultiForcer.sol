// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ChannelParams, State} from "../ChanvmTypes.sol";

/// @dev The part of the Adjudicator this test contract calls.
interface IForceProgress {
    function forceProgress(
        ChannelParams calldata p,
        State calldata from,
        bytes[] calldata fromSigs,
        uint256 mover,
        bytes calldata action,
        bytes calldata moverSig
    ) external;
}

/// @notice Test only: several `forceProgress` calls in one transaction, so a forced chain of any
/// length lands in a single block before anyone can answer between its steps. Each step carries
/// its base in full (precomputed and signed by the mover); only the first may carry signatures
/// (a co-signed base registered in the same call).
contract MultiForcer {
    struct Step {
        State from;
        bytes[] fromSigs;
        uint256 mover;
        bytes action;
        bytes moverSig;
    }

    function forceAll(IForceProgress adjudicator, ChannelParams calldata p, Step[] calldata steps) external {
        for (uint256 i; i < steps.length; ++i) {
            Step calldata s = steps[i];
            adjudicator.forceProgress(p, s.from, s.fromSigs, s.mover, s.action, s.moverSig);
        }
    }
}
