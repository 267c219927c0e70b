// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ChannelParams, State, Env} from "chanvm/ChanvmTypes.sol";
import {IApp} from "chanvm/IApp.sol";
import {StateDigest} from "chanvm/StateDigest.sol";
import {Sig} from "chanvm/Sig.sol";

/// @notice Escrow between two participants of a channel.
///
/// The payer puts an amount in escrow (FUND); it is then settled in exactly one way:
/// RELEASE by the payer pays the payee; RULING carries an arbiter's signed ruling and pays the
/// payee or refunds the payer; REFUND returns it to the payer once `env.timestamp >= deadline`.
/// While funded, the amount stays in the payer's balance (the payout if the channel closed now is a
/// refund) but cannot be funded twice. After settlement a new escrow may be funded (`escrowId`
/// counts them, so a ruling never applies to a later escrow). CLOSE marks an idle channel final.
///
/// appData = abi.encode(EscrowData); action = abi.encode(uint8 kind, bytes body).
contract Escrow is IApp {
    struct EscrowData {
        uint8 payer;
        uint8 payee;
        address arbiter;
        uint64 escrowId;
        bool funded;
        uint256 amount;
        uint64 deadline;
    }

    uint8 public constant FUND = 0; // body: abi.encode(uint256 amount, uint64 deadline)
    uint8 public constant RELEASE = 1; // body: empty
    uint8 public constant RULING = 2; // body: abi.encode(bool toPayee, bytes arbiterSig)
    uint8 public constant REFUND = 3; // body: empty
    uint8 public constant CLOSE = 4; // body: empty

    bytes32 public constant RULING_TYPEHASH = keccak256("Ruling(bytes32 channelId,uint64 escrowId,bool toPayee)");

    error AlreadyFinal();
    error InvalidMover(uint256 mover);
    error NotPayer(uint256 mover);
    error NotFunded();
    error AlreadyFunded();
    error ZeroAmount();
    error Overspend(uint256 amount, uint256 available);
    error DeadlineInPast(uint64 deadline, uint64 timestamp);
    error DeadlineNotReached(uint64 deadline, uint64 timestamp);
    error NotArbiter(address signer);
    error UnknownAction(uint8 kind);

    function transition(
        ChannelParams calldata p,
        State calldata from,
        uint256 mover,
        bytes calldata action,
        Env calldata env
    ) external view returns (bytes memory, uint256[] memory balances, bool isFinal) {
        if (from.isFinal) revert AlreadyFinal();
        if (mover >= p.participants.length) revert InvalidMover(mover);
        EscrowData memory d = abi.decode(from.appData, (EscrowData));
        balances = from.balances;
        (uint8 kind, bytes memory body) = abi.decode(action, (uint8, bytes));

        if (kind == FUND) {
            if (mover != d.payer) revert NotPayer(mover);
            if (d.funded) revert AlreadyFunded();
            (uint256 amount, uint64 deadline) = abi.decode(body, (uint256, uint64));
            if (amount == 0) revert ZeroAmount();
            if (amount > balances[d.payer]) revert Overspend(amount, balances[d.payer]);
            if (deadline <= env.timestamp) revert DeadlineInPast(deadline, env.timestamp);
            d.funded = true;
            d.amount = amount;
            d.deadline = deadline;
        } else if (kind == RELEASE) {
            if (mover != d.payer) revert NotPayer(mover);
            if (!d.funded) revert NotFunded();
            _settle(d, balances, true);
        } else if (kind == RULING) {
            if (!d.funded) revert NotFunded();
            (bool toPayee, bytes memory sig) = abi.decode(body, (bool, bytes));
            bytes32 digest = StateDigest.toTyped(
                StateDigest.domainSeparator(p.chainId, p.adjudicator),
                keccak256(abi.encode(RULING_TYPEHASH, from.channelId, d.escrowId, toPayee))
            );
            address signer = Sig.recover(digest, sig);
            if (signer != d.arbiter) revert NotArbiter(signer);
            _settle(d, balances, toPayee);
        } else if (kind == REFUND) {
            if (!d.funded) revert NotFunded();
            if (env.timestamp < d.deadline) revert DeadlineNotReached(d.deadline, env.timestamp);
            _settle(d, balances, false);
        } else if (kind == CLOSE) {
            if (d.funded) revert AlreadyFunded();
            isFinal = true;
        } else {
            revert UnknownAction(kind);
        }
        return (abi.encode(d), balances, isFinal);
    }

    /// @notice `abi.encode(d)`: the app data for `d`. For tooling; the TS client derives its types from this ABI.
    function encodeData(EscrowData calldata d) external pure returns (bytes memory) {
        return abi.encode(d);
    }

    function _settle(EscrowData memory d, uint256[] memory balances, bool toPayee) private pure {
        if (toPayee) {
            balances[d.payer] -= d.amount;
            balances[d.payee] += d.amount;
        }
        d.funded = false;
        d.amount = 0;
        d.deadline = 0;
        d.escrowId += 1;
    }
}
