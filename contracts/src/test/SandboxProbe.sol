// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ChannelParams, State, Env} from "../ChanvmTypes.sol";

interface IMissing {
    function ping() external view returns (uint256);
}

/// @notice A misbehaving app for the sandbox tests: `action[0]` picks what goes wrong. It has
/// IApp's `transition` selector but is not `view`, so that it can try to write state.
contract SandboxProbe {
    uint256 private counter;

    function transition(ChannelParams calldata p, State calldata from, uint256, bytes calldata action, Env calldata)
        external
        returns (bytes memory, uint256[] memory balances, bool)
    {
        uint8 mode = uint8(action[0]);
        balances = from.balances;
        if (mode == 0) {
            // endless loop
            uint256 i;
            while (true) {
                unchecked { i++; }
                if (i == 0) break;
            }
        } else if (mode == 1) {
            // a huge return
            assembly {
                return(0, 200000)
            }
        } else if (mode == 2) {
            // a call to an address with no code
            IMissing(address(0xdead)).ping();
        } else if (mode == 3) {
            // an attempt to write state: a view function cannot SSTORE, so do it through assembly
            assembly {
                sstore(0, 1)
            }
        } else if (mode == 4) {
            assembly {
                invalid()
            }
        } else if (mode == 5) {
            // break conservation
            balances[0] += 1;
        } else if (mode == 6) {
            // one balance too many
            balances = new uint256[](p.participants.length + 1);
        } else if (mode == 7) {
            // read the host: time must come from env, so return block.timestamp as app data
            return (abi.encode(block.timestamp, block.number, counter), balances, false);
        } else if (mode == 8) {
            // an endless loop with a huge gas cap: only the wall-clock cap stops it
            uint256 j;
            while (true) {
                unchecked { j++; }
                if (j == 0) break;
            }
        }
        // mode 9 (or any other): an ordinary step that changes nothing
        return (from.appData, balances, false);
    }
}
