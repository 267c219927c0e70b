// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ChannelParams, State, Env} from "chanvm/ChanvmTypes.sol";
import {IApp} from "chanvm/IApp.sol";
import {OracleMessages, Reading, OracleSig} from "chanvm/oracles/OracleMessages.sol";

/// @notice Metered payments between a consumer and a provider, decided by the signed readings of
/// one meter (a device key, secp256k1 or P-256, as a thermometer's). The meter reports the
/// cumulative usage of the service (kind "usage", unit "s": seconds of service so far).
///
/// - PAY (either side): one or more readings of the meter, each signed by it, in strictly
///   increasing `sequence` above `lastSequence` (replay protection), not after `env.timestamp`,
///   with a usage that never decreases. The consumer then owes `min(units * pricePerUnit, cap)`
///   in all; what is owed beyond `paid` moves from the consumer's balance to the provider's.
///   Either side may send it: the consumer pays as readings arrive, and the provider forces a
///   payment on chain with the meter's readings when the consumer refuses to co-sign one.
/// - CLOSE: the provider may close at any time; the consumer once `closeGrace` seconds have passed
///   since the last reading was paid (time for the provider to bring the last readings). Final:
///   the balances then pay out, and what the consumer deposited and did not pay is its refund.
///
/// Balances always mean the payout if the channel closed now: what is paid is the provider's,
/// the rest of the deposit the consumer's. Time is read from `env` only.
///
/// appData = abi.encode(Meter); action = abi.encode(uint8 kind, bytes body).
contract Metered is IApp {
    struct Meter {
        uint8 consumer;
        uint8 provider;
        /// @dev Signer id of the meter (OracleMessages.idOfAddress / idOfP256).
        bytes32 meter;
        /// @dev Wei per unit of usage (per second of service).
        uint256 pricePerUnit;
        /// @dev The most the consumer pays in all, in wei.
        uint256 cap;
        /// @dev Seconds after the last paid reading before the consumer may close.
        uint64 closeGrace;
        // ---- state
        /// @dev The sequence number of the last reading taken (0: none yet).
        uint64 lastSequence;
        /// @dev The timestamp of the last reading taken.
        uint64 lastReadingAt;
        /// @dev Cumulative usage the payments cover, in units.
        uint64 units;
        /// @dev Wei paid to the provider so far.
        uint256 paid;
    }

    /// @dev One signed reading, as carried in PAY.
    struct SignedReading {
        Reading reading;
        OracleSig sig;
    }

    uint8 public constant PAY = 0; // either side; body: abi.encode(SignedReading[])
    uint8 public constant CLOSE = 1; // provider any time, consumer after closeGrace; body: empty

    bytes32 public constant USAGE = bytes32("usage");
    bytes32 public constant SECONDS = bytes32("s");

    error AlreadyFinal();
    error InvalidMover(uint256 mover);
    error UnknownAction(uint8 kind);
    error NoReadings();
    error UnknownMeter(bytes32 device);
    error WrongKind(bytes32 kind);
    error WrongUnit(bytes32 unit);
    error Replay(uint64 sequence, uint64 lastSequence);
    error ReadingFromFuture(uint64 readingTimestamp, uint64 timestamp);
    error UsageDecreased(int64 value, uint64 units);
    error Overspend(uint256 amount, uint256 available);
    error TooEarlyToClose(uint64 closableAt, uint64 timestamp);

    function transition(
        ChannelParams calldata p,
        State calldata from,
        uint256 mover,
        bytes calldata action,
        Env calldata env
    ) external view returns (bytes memory, uint256[] memory balances, bool isFinal) {
        if (from.isFinal) revert AlreadyFinal();
        if (mover >= p.participants.length) revert InvalidMover(mover);
        Meter memory d = abi.decode(from.appData, (Meter));
        balances = from.balances;
        (uint8 kind, bytes memory body) = abi.decode(action, (uint8, bytes));

        if (kind == PAY) {
            _take(p.chainId, d, abi.decode(body, (SignedReading[])), env);
            uint256 due = uint256(d.units) * d.pricePerUnit;
            if (due > d.cap) due = d.cap;
            uint256 amount = due - d.paid;
            if (amount > balances[d.consumer]) revert Overspend(amount, balances[d.consumer]);
            balances[d.consumer] -= amount;
            balances[d.provider] += amount;
            d.paid = due;
        } else if (kind == CLOSE) {
            if (mover != d.provider) {
                uint64 closableAt = d.lastReadingAt + d.closeGrace;
                if (env.timestamp < closableAt) revert TooEarlyToClose(closableAt, env.timestamp);
            }
            isFinal = true;
        } else {
            revert UnknownAction(kind);
        }
        return (abi.encode(d), balances, isFinal);
    }

    /// @dev Takes the readings in order: the last one's usage is what the payments cover.
    function _take(uint256 chainId, Meter memory d, SignedReading[] memory readings, Env calldata env) private view {
        if (readings.length == 0) revert NoReadings();
        for (uint256 i = 0; i < readings.length; i++) {
            Reading memory r = readings[i].reading;
            if (r.device != d.meter) revert UnknownMeter(r.device);
            if (r.kind != USAGE) revert WrongKind(r.kind);
            if (r.unit != SECONDS) revert WrongUnit(r.unit);
            if (r.sequence <= d.lastSequence) revert Replay(r.sequence, d.lastSequence);
            if (r.timestamp > env.timestamp) revert ReadingFromFuture(r.timestamp, env.timestamp);
            if (r.value < 0 || uint64(r.value) < d.units) revert UsageDecreased(r.value, d.units);
            OracleMessages.verifyReading(chainId, r, readings[i].sig);
            d.lastSequence = r.sequence;
            if (r.timestamp > d.lastReadingAt) d.lastReadingAt = r.timestamp;
            d.units = uint64(r.value);
        }
    }

    /// @notice `abi.encode(d)`: the app data for `d`. The manifest lays the state out by this function.
    function encodeData(Meter calldata d) external pure returns (bytes memory) {
        return abi.encode(d);
    }

    /// @notice The PAY action carrying `readings`. For tooling.
    function encodePay(SignedReading[] calldata readings) external pure returns (bytes memory) {
        return abi.encode(PAY, abi.encode(readings));
    }
}
