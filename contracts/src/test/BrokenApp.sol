// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ChannelParams, State, Env} from "../ChanvmTypes.sol";
import {IApp} from "../IApp.sol";

/// @notice Test-only app that misbehaves on request, to check what the Adjudicator refuses.
/// action = abi.encode(uint8 kind): 0 moves one wei out of nowhere (breaks conservation),
/// 1 returns one balance too few, 2 reverts with a custom error, 3 behaves (returns `from`).
contract BrokenApp is IApp {
    error Refused(uint8 kind);

    function transition(ChannelParams calldata, State calldata from, uint256, bytes calldata action, Env calldata)
        external
        pure
        returns (bytes memory, uint256[] memory balances, bool)
    {
        uint8 kind = abi.decode(action, (uint8));
        balances = from.balances;
        if (kind == 0) {
            balances[0] += 1;
        } else if (kind == 1) {
            balances = new uint256[](from.balances.length - 1);
        } else if (kind == 2) {
            revert Refused(kind);
        }
        return (from.appData, balances, false);
    }
}
