// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ChannelParams, State, Env} from "chanvm/ChanvmTypes.sol";
import {IApp} from "chanvm/IApp.sol";
import {OracleMessages, Answer, OracleSig} from "chanvm/oracles/OracleMessages.sol";

/// @notice A purchase paid through a channel and settled by k-of-n delivery oracles.
///
/// The buyer pays the price (PAY); the seller ships the parcel with `trackingId`. Oracles answer
/// the question `keccak256(bytes(trackingId))` with "delivered". With answers from at least
/// `quorum` distinct listed oracles the seller claims the price (CLAIM, final). If no quorum was
/// brought by the `deadline` block, the buyer takes a refund (REFUND, final).
///
/// Balances: PAY moves nothing; it locks the price. While PAID the price stays in the buyer's
/// balance (the payout if the channel closed now is a refund), but it cannot be paid twice or
/// closed away off chain: the only ways out of PAID are CLAIM (the price moves buyer -> seller) and
/// REFUND (after the deadline; balances unchanged). No money moves without evidence. Consequence,
/// as with any state channel whose outcome is still open: a buyer who disputes on chain before
/// delivery is proven gets the price back when the challenge times out, so the seller answers a
/// dispute with a forced CLAIM as soon as the oracles have answered (and should pick
/// `challengeDuration` with the delivery time in mind). The seller never gets paid without a quorum.
///
/// CLAIM answers are checked one by one (each oracle signs its own answer, with its own timestamp),
/// with `OracleMessages.answerDigest` / `signerOf`: right question, answer "delivered", timestamp
/// not after `env.timestamp`, signer listed, no oracle twice, at least `quorum` of them. CLAIM is
/// accepted until the state is final, also after the deadline if the buyer has not taken a refund.
/// Time is read from `env` only (`blockNumber` for the deadline, `timestamp` for answers).
///
/// appData = abi.encode(TvData); action = abi.encode(uint8 kind, bytes body).
contract TvDelivery is IApp {
    struct TvData {
        uint8 buyer;
        uint8 seller;
        /// @dev The carrier's tracking id; oracles answer `keccak256(bytes(trackingId))`.
        string trackingId;
        /// @dev Signer ids of the oracles (see OracleMessages.idOfAddress / idOfP256).
        bytes32[] oracles;
        /// @dev k: how many distinct listed oracles must say "delivered". 1 <= quorum <= oracles.length.
        uint8 quorum;
        uint256 price;
        /// @dev Block number (env.blockNumber) from which the buyer may take a refund.
        uint64 deadline;
        /// @dev OPEN, PAID, DELIVERED, REFUNDED or CLOSED.
        uint8 status;
    }

    /// @dev One oracle's signed answer, as carried in CLAIM.
    struct DeliveryAnswer {
        Answer answer;
        OracleSig sig;
    }

    uint8 public constant OPEN = 0;
    uint8 public constant PAID = 1;
    uint8 public constant DELIVERED = 2;
    uint8 public constant REFUNDED = 3;
    uint8 public constant CLOSED = 4;

    uint8 public constant PAY = 0; // buyer; body: empty
    uint8 public constant CLAIM = 1; // seller; body: abi.encode(DeliveryAnswer[])
    uint8 public constant REFUND = 2; // buyer; body: empty
    uint8 public constant CLOSE = 3; // either, while OPEN (nothing paid); body: empty

    /// @notice The answer an oracle signs when the parcel arrived: ASCII "delivered", zero-padded.
    bytes32 public constant DELIVERED_ANSWER = bytes32("delivered");

    error AlreadyFinal();
    error InvalidMover(uint256 mover);
    error NotBuyer(uint256 mover);
    error NotSeller(uint256 mover);
    error UnknownAction(uint8 kind);
    error NotPaid(uint8 status);
    error AlreadyPaid();
    error ZeroPrice();
    error Overspend(uint256 price, uint256 available);
    error DeadlinePassed(uint64 deadline, uint64 blockNumber);
    error DeadlineNotReached(uint64 deadline, uint64 blockNumber);
    error WrongQuestion(bytes32 expected, bytes32 actual);
    error NotDelivered(bytes32 answer);
    error AnswerFromFuture(uint64 answerTimestamp, uint64 timestamp);

    function transition(
        ChannelParams calldata p,
        State calldata from,
        uint256 mover,
        bytes calldata action,
        Env calldata env
    ) external view returns (bytes memory, uint256[] memory balances, bool isFinal) {
        if (from.isFinal) revert AlreadyFinal();
        if (mover >= p.participants.length) revert InvalidMover(mover);
        TvData memory d = abi.decode(from.appData, (TvData));
        balances = from.balances;
        (uint8 kind, bytes memory body) = abi.decode(action, (uint8, bytes));

        if (kind == PAY) {
            if (mover != d.buyer) revert NotBuyer(mover);
            if (d.status != OPEN) revert AlreadyPaid();
            if (d.price == 0) revert ZeroPrice();
            if (d.price > balances[d.buyer]) revert Overspend(d.price, balances[d.buyer]);
            if (env.blockNumber >= d.deadline) revert DeadlinePassed(d.deadline, env.blockNumber);
            d.status = PAID;
        } else if (kind == CLAIM) {
            if (mover != d.seller) revert NotSeller(mover);
            if (d.status != PAID) revert NotPaid(d.status);
            _checkDelivered(p.chainId, d, abi.decode(body, (DeliveryAnswer[])), env);
            balances[d.buyer] -= d.price;
            balances[d.seller] += d.price;
            d.status = DELIVERED;
            isFinal = true;
        } else if (kind == REFUND) {
            if (mover != d.buyer) revert NotBuyer(mover);
            if (d.status != PAID) revert NotPaid(d.status);
            if (env.blockNumber < d.deadline) revert DeadlineNotReached(d.deadline, env.blockNumber);
            d.status = REFUNDED;
            isFinal = true;
        } else if (kind == CLOSE) {
            if (d.status != OPEN) revert AlreadyPaid();
            d.status = CLOSED;
            isFinal = true;
        } else {
            revert UnknownAction(kind);
        }
        return (abi.encode(d), balances, isFinal);
    }

    /// @dev Reverts unless `answers` hold "delivered" for the tracking id from at least `quorum`
    /// distinct listed oracles. Errors of the quorum rules are OracleMessages' own.
    function _checkDelivered(uint256 chainId, TvData memory d, DeliveryAnswer[] memory answers, Env calldata env)
        private
        view
    {
        uint256 n = d.oracles.length;
        if (d.quorum == 0 || d.quorum > n || n > 256) revert OracleMessages.BadQuorum(d.quorum, n);
        bytes32 question = keccak256(bytes(d.trackingId));
        uint256 signedMask;
        for (uint256 i = 0; i < answers.length; i++) {
            Answer memory a = answers[i].answer;
            if (a.questionId != question) revert WrongQuestion(question, a.questionId);
            if (a.answer != DELIVERED_ANSWER) revert NotDelivered(a.answer);
            if (a.timestamp > env.timestamp) revert AnswerFromFuture(a.timestamp, env.timestamp);
            bytes32 signer = OracleMessages.signerOf(OracleMessages.answerDigest(chainId, a), answers[i].sig);
            uint256 j = 0;
            while (j < n && d.oracles[j] != signer) j++;
            if (j == n) revert OracleMessages.UnknownOracle(signer);
            if (signedMask & (1 << j) != 0) revert OracleMessages.DuplicateOracle(signer);
            signedMask |= 1 << j;
        }
        if (answers.length < d.quorum) revert OracleMessages.QuorumNotMet(answers.length, d.quorum);
    }

    /// @notice `abi.encode(d)`: the app data for `d`. For tooling; the TS client derives its types from this ABI.
    function encodeData(TvData calldata d) external pure returns (bytes memory) {
        return abi.encode(d);
    }

    /// @notice The CLAIM action carrying `answers`. For tooling; the TS client derives its types from this ABI.
    function encodeClaim(DeliveryAnswer[] calldata answers) external pure returns (bytes memory) {
        return abi.encode(CLAIM, abi.encode(answers));
    }
}
