// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ChannelParams, State, Env} from "./ChanvmTypes.sol";

/// @notice An in-channel app: one deterministic view function, run off chain in the sandbox and on
/// chain by the Adjudicator. It reads time only from `env` and verifies any signed oracle data
/// carried in `action` itself. It reverts (with a custom error) on a step it does not allow.
interface IApp {
    function transition(
        ChannelParams calldata p,
        State calldata from,
        uint256 mover,
        bytes calldata action,
        Env calldata env
    ) external view returns (bytes memory appData, uint256[] memory balances, bool isFinal);
}
