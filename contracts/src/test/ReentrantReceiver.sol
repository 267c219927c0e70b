// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Test-only attacker: when it receives ETH it calls back `withdraw(address)` on the sender
/// once, and records whether that nested call succeeded and what it returned. Installed on a
/// participant's EOA with an EIP-7702 delegation, so the attacker is a real signer that holds a
/// credit in the Adjudicator.
contract ReentrantReceiver {
    uint256 public received;
    uint256 public attempts;
    bool public reentrySucceeded;
    bytes public reentryError;

    receive() external payable {
        received += msg.value;
        if (attempts == 0) {
            attempts = 1;
            (bool ok, bytes memory ret) = msg.sender.call(abi.encodeWithSignature("withdraw(address)", address(this)));
            reentrySucceeded = ok;
            reentryError = ret;
        }
    }
}
