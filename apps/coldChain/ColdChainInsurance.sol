// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ChannelParams, State, Env} from "chanvm/ChanvmTypes.sol";
import {IApp} from "chanvm/IApp.sol";
import {OracleMessages, Reading, OracleSig} from "chanvm/oracles/OracleMessages.sol";

/// @notice Parametric cold-chain insurance between an owner (of the goods) and an insurer,
/// decided by the signed readings of one registered thermometer.
///
/// - PAY_PREMIUM (owner): moves `premium` from the owner's balance to the insurer's and buys one
///   period of `periodSeconds` of coverage, at most `maxPeriods` in all. Paid while coverage
///   runs, it extends it (`coverageEnd += periodSeconds`); paid with no coverage running (the first
///   premium, or after a lapse), coverage starts at `env.timestamp`. Coverage is never
///   retroactive: a premium cannot buy time that has already passed. The insurer must hold at
///   least `insuredSum` (else the owner would pay for cover that cannot pay out).
/// - REPORT (owner): one or more readings of the thermometer, each signed by it (secp256k1 or
///   P-256, verified with OracleMessages.verifyReading), in strictly increasing `sequence` above
///   `lastSequence` (replay protection), of kind "temperature" in unit "mC" (milli-degrees
///   Celsius), timestamped within [coverageStart, coverageEnd) and not after `env.timestamp`.
///   A reading outside [minValue, maxValue] extends the current run; an in-range reading resets
///   it, and so does a gap in the sequence (a skipped reading may have been in range). A run of
///   `runLength` consecutive readings out of range pays `insuredSum` from the insurer to the owner
///   and makes the state final. Only the owner reports: the insurer could otherwise push
///   `lastSequence` past an excursion the owner has not reported yet.
/// - CLOSE: the owner may close at any time (giving up the rest of the cover); the insurer only
///   once coverage has ended and the `claimWindow` after it (time for the owner to report the last
///   readings) has passed. Final; balances unchanged (premiums paid stay paid).
///
/// Balances always mean the payout if the channel closed now: premiums are the insurer's once
/// paid, the insured sum is the owner's only once a run is proven.
///
/// appData = abi.encode(Policy); action = abi.encode(uint8 kind, bytes body).
contract ColdChainInsurance is IApp {
    struct Policy {
        uint8 owner;
        uint8 insurer;
        /// @dev Signer id of the thermometer (OracleMessages.idOfAddress / idOfP256).
        bytes32 device;
        /// @dev Allowed range, inclusive, in milli-degrees Celsius.
        int64 minValue;
        int64 maxValue;
        /// @dev N: consecutive out-of-range readings that trigger the payout. At least 1.
        uint16 runLength;
        uint256 premium;
        uint256 insuredSum;
        uint64 periodSeconds;
        uint64 maxPeriods;
        /// @dev Seconds after coverageEnd during which only the owner may close (and still report).
        uint64 claimWindow;
        // ---- state
        uint64 periodsPaid;
        /// @dev Covered readings have coverageStart <= timestamp < coverageEnd (unix seconds).
        uint64 coverageStart;
        uint64 coverageEnd;
        /// @dev The sequence number of the last reading taken (0: none yet).
        uint64 lastSequence;
        /// @dev Length of the current run of consecutive out-of-range readings.
        uint16 run;
        /// @dev True once the insured sum was paid out (the state is then final).
        bool claimed;
    }

    /// @dev One signed reading, as carried in REPORT.
    struct SignedReading {
        Reading reading;
        OracleSig sig;
    }

    uint8 public constant PAY_PREMIUM = 0; // owner; body: empty
    uint8 public constant REPORT = 1; // owner; body: abi.encode(SignedReading[])
    uint8 public constant CLOSE = 2; // owner any time, insurer after coverageEnd + claimWindow; body: empty

    bytes32 public constant TEMPERATURE = bytes32("temperature");
    bytes32 public constant MILLI_CELSIUS = bytes32("mC");

    error AlreadyFinal();
    error InvalidMover(uint256 mover);
    error NotOwner(uint256 mover);
    error UnknownAction(uint8 kind);
    error Overspend(uint256 premium, uint256 available);
    error InsurerUnderfunded(uint256 insuredSum, uint256 available);
    error TermExhausted(uint64 maxPeriods);
    error NoReadings();
    error UnknownDevice(bytes32 device);
    error WrongKind(bytes32 kind);
    error WrongUnit(bytes32 unit);
    error Replay(uint64 sequence, uint64 lastSequence);
    error ReadingFromFuture(uint64 readingTimestamp, uint64 timestamp);
    error NotCovered(uint64 readingTimestamp, uint64 coverageStart, uint64 coverageEnd);
    error ReadingAfterClaim(uint64 sequence);
    error CoverageActive(uint64 closableAt, uint64 timestamp);

    function transition(
        ChannelParams calldata p,
        State calldata from,
        uint256 mover,
        bytes calldata action,
        Env calldata env
    ) external view returns (bytes memory, uint256[] memory balances, bool isFinal) {
        if (from.isFinal) revert AlreadyFinal();
        if (mover >= p.participants.length) revert InvalidMover(mover);
        Policy memory d = abi.decode(from.appData, (Policy));
        balances = from.balances;
        (uint8 kind, bytes memory body) = abi.decode(action, (uint8, bytes));

        if (kind == PAY_PREMIUM) {
            if (mover != d.owner) revert NotOwner(mover);
            if (d.periodsPaid >= d.maxPeriods) revert TermExhausted(d.maxPeriods);
            if (d.premium > balances[d.owner]) revert Overspend(d.premium, balances[d.owner]);
            if (balances[d.insurer] < d.insuredSum) revert InsurerUnderfunded(d.insuredSum, balances[d.insurer]);
            balances[d.owner] -= d.premium;
            balances[d.insurer] += d.premium;
            d.periodsPaid += 1;
            if (env.timestamp >= d.coverageEnd) {
                // no coverage running: it starts now, and a run from before the lapse is over
                d.coverageStart = env.timestamp;
                d.coverageEnd = env.timestamp + d.periodSeconds;
                d.run = 0;
            } else {
                d.coverageEnd += d.periodSeconds;
            }
        } else if (kind == REPORT) {
            if (mover != d.owner) revert NotOwner(mover);
            isFinal = _report(p.chainId, d, balances, abi.decode(body, (SignedReading[])), env);
        } else if (kind == CLOSE) {
            if (mover != d.owner) {
                uint64 closableAt = d.coverageEnd + d.claimWindow;
                if (env.timestamp < closableAt) revert CoverageActive(closableAt, env.timestamp);
            }
            isFinal = true;
        } else {
            revert UnknownAction(kind);
        }
        return (abi.encode(d), balances, isFinal);
    }

    /// @dev Takes the readings in order; returns true when a run reached `runLength` (paid out).
    function _report(
        uint256 chainId,
        Policy memory d,
        uint256[] memory balances,
        SignedReading[] memory readings,
        Env calldata env
    ) private view returns (bool) {
        if (readings.length == 0) revert NoReadings();
        for (uint256 i = 0; i < readings.length; i++) {
            Reading memory r = readings[i].reading;
            if (d.claimed) revert ReadingAfterClaim(r.sequence);
            if (r.device != d.device) revert UnknownDevice(r.device);
            if (r.kind != TEMPERATURE) revert WrongKind(r.kind);
            if (r.unit != MILLI_CELSIUS) revert WrongUnit(r.unit);
            if (r.sequence <= d.lastSequence) revert Replay(r.sequence, d.lastSequence);
            if (r.timestamp > env.timestamp) revert ReadingFromFuture(r.timestamp, env.timestamp);
            if (r.timestamp < d.coverageStart || r.timestamp >= d.coverageEnd) {
                revert NotCovered(r.timestamp, d.coverageStart, d.coverageEnd);
            }
            OracleMessages.verifyReading(chainId, r, readings[i].sig);

            bool consecutive = r.sequence == d.lastSequence + 1;
            d.lastSequence = r.sequence;
            if (r.value >= d.minValue && r.value <= d.maxValue) {
                d.run = 0;
            } else {
                d.run = consecutive ? d.run + 1 : 1;
                if (d.run >= d.runLength) {
                    balances[d.insurer] -= d.insuredSum;
                    balances[d.owner] += d.insuredSum;
                    d.claimed = true;
                }
            }
        }
        return d.claimed;
    }

    /// @notice `abi.encode(d)`: the app data for `d`. For tooling; the TS client derives its types from this ABI.
    function encodeData(Policy calldata d) external pure returns (bytes memory) {
        return abi.encode(d);
    }

    /// @notice The REPORT action carrying `readings`. For tooling; the TS client derives its types from this ABI.
    function encodeReport(SignedReading[] calldata readings) external pure returns (bytes memory) {
        return abi.encode(REPORT, abi.encode(readings));
    }
}
