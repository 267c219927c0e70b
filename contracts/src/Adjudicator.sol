// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ChannelParams, State, Env} from "./ChanvmTypes.sol";
import {IApp} from "./IApp.sol";
import {StateDigest} from "./StateDigest.sol";
import {Sig} from "./Sig.sol";

/// @notice Holds the funds of chanvm channels and settles disputes about them. The rules are in
/// docs/adjudicator.md; in short:
///
/// - `deposit` adds ETH to a channel's holdings.
/// - `register` puts a co-signed state on chain and (re)starts the challenge timeout; only a
///   strictly higher version replaces a co-signed state held (this is how a stale state is
///   refuted); a co-signed state of the same or a higher version replaces a forced state held, so
///   a party cannot overwrite co-signed history by forcing its own steps on an old state.
/// - `forceProgress` applies one app step, signed by its mover, to the state held (or to a newer
///   co-signed state it registers in the same call), with the real block as Env, and holds the
///   result as version + 1, restarting the timeout.
/// - `conclude` pays out the state held once the timeout has passed; `concludeFinal` pays out a
///   co-signed final state at once, dispute or not.
/// - Payouts are credited per address and taken with `withdraw` (pull payments).
///
/// Storage per channel is two slots: a packed record (version, timeout, status, holdings) and the
/// EIP-712 struct hash of the state held. Full states travel in calldata and in events only.
contract Adjudicator {
    enum Status {
        Open, // no state held; may hold funds
        Disputed, // a state is held; the timeout runs
        Concluded // paid out; nothing more happens
    }

    /// @dev One storage slot: 64 + 48 + 8 + 8 + 128 bits. `forced` is set while the state held
    /// was produced by `forceProgress` rather than signed by every participant.
    struct Record {
        uint64 version;
        uint48 finalizesAt;
        Status status;
        bool forced;
        uint128 holdings;
    }

    /// @notice EIP-712 type a mover signs for `forceProgress`, under the chanvm domain.
    /// `stateHash` is the EIP-712 struct hash of the state the step applies to; `action` is hashed
    /// as EIP-712 `bytes` (keccak256 of its contents).
    bytes32 public constant MOVE_TYPEHASH =
        keccak256("Move(bytes32 channelId,uint64 version,bytes32 stateHash,uint256 mover,bytes action)");

    /// @notice Longest challenge duration accepted (keeps `finalizesAt` inside 48 bits).
    uint64 public constant MAX_CHALLENGE_DURATION = type(uint32).max;

    mapping(bytes32 channelId => Record) internal _records;
    mapping(bytes32 channelId => bytes32) internal _heldHash;

    /// @notice Wei each address may withdraw, credited at conclusion.
    mapping(address account => uint256) public withdrawable;

    bool transient _locked;

    /// @dev The chanvm EIP-712 domain of this contract on the chain it was deployed on.
    uint256 private immutable _deployChainId;
    bytes32 private immutable _domain;

    constructor() {
        _deployChainId = block.chainid;
        _domain = StateDigest.domainSeparator(block.chainid, address(this));
    }

    event Deposited(bytes32 indexed channelId, address indexed participant, uint256 amount, uint256 holdings);
    event Registered(bytes32 indexed channelId, uint48 finalizesAt, State state);
    event Progressed(bytes32 indexed channelId, uint48 finalizesAt, uint256 mover, bytes action, State state);
    event Concluded(bytes32 indexed channelId, uint64 version, uint256[] payouts);
    event Withdrawn(address indexed account, address indexed to, uint256 amount);

    error WrongChainId(uint256 expected, uint256 actual);
    error WrongAdjudicator(address adjudicator);
    error TooFewParticipants(uint256 count);
    error BadChallengeDuration(uint64 duration);
    error AppCodeMismatch(bytes32 onChain, bytes32 expected);
    error WrongChannel(bytes32 stateChannelId, bytes32 channelId);
    error BalancesLength(uint256 length, uint256 participants);
    error SignatureCount(uint256 count, uint256 participants);
    error NotSigner(uint256 index, address signer);
    error StaleVersion(uint64 version, uint64 held);
    error ChannelConcluded(bytes32 channelId);
    error DisputeExpired(bytes32 channelId, uint48 finalizesAt);
    error DisputeActive(bytes32 channelId, uint48 finalizesAt);
    error NoDispute(bytes32 channelId);
    error NotHeldState(bytes32 stateHash, bytes32 held);
    error StateIsFinal();
    error NotFinal();
    error InvalidMover(uint256 mover);
    error NotMover(uint256 mover, address signer);
    error AppReverted(bytes reason);
    error NotConserved(uint256 before, uint256 after_);
    error ZeroDeposit();
    error HoldingsOverflow();
    error NothingToWithdraw(address account);
    error TransferFailed(address to, bytes reason);
    error Reentrancy();

    // ---------------------------------------------------------------- funding

    /// @notice Adds `msg.value` to the channel's holdings. `participant` says on whose behalf (for
    /// watchers and the off-chain protocol); on chain all holdings of a channel are one pot.
    function deposit(bytes32 channelId, address participant) external payable {
        if (msg.value == 0) revert ZeroDeposit();
        Record storage r = _records[channelId];
        if (r.status == Status.Concluded) revert ChannelConcluded(channelId);
        uint256 holdings = uint256(r.holdings) + msg.value;
        if (holdings > type(uint128).max) revert HoldingsOverflow();
        r.holdings = uint128(holdings);
        emit Deposited(channelId, participant, msg.value, holdings);
    }

    // ---------------------------------------------------------------- disputes

    /// @notice Holds a co-signed state and (re)starts the timeout. Opens a dispute on an open
    /// channel; during a dispute it needs a strictly higher version than the state held.
    function register(ChannelParams calldata p, State calldata s, bytes[] calldata sigs) external {
        bytes32 id = _checkParams(p);
        Record memory r = _records[id];
        bytes32 h = _checkCoSigned(p, id, s, sigs);
        _checkReplaces(r, id, s.version);
        uint48 finalizesAt = _hold(id, r.holdings, s.version, h, p.challengeDuration, false);
        emit Registered(id, finalizesAt, s);
    }

    /// @notice Applies one step of the app, signed by its mover, and holds the result as
    /// `from.version + 1`, restarting the timeout. With `fromSigs` empty, `from` must be the state
    /// held; otherwise `from` is a co-signed state that replaces the state held (as `register`).
    function forceProgress(
        ChannelParams calldata p,
        State calldata from,
        bytes[] calldata fromSigs,
        uint256 mover,
        bytes calldata action,
        bytes calldata moverSig
    ) external {
        bytes32 id = _checkParams(p);
        if (p.app.codehash != p.appCodeHash) revert AppCodeMismatch(p.app.codehash, p.appCodeHash);
        Record memory r = _records[id];
        bytes32 fromHash;
        if (fromSigs.length == 0) {
            if (r.status == Status.Concluded) revert ChannelConcluded(id);
            if (r.status != Status.Disputed) revert NoDispute(id);
            if (block.timestamp >= r.finalizesAt) revert DisputeExpired(id, r.finalizesAt);
            fromHash = StateDigest.structHash(from);
            bytes32 held = _heldHash[id];
            if (fromHash != held) revert NotHeldState(fromHash, held);
        } else {
            fromHash = _checkCoSigned(p, id, from, fromSigs);
            _checkReplaces(r, id, from.version);
        }
        if (from.isFinal) revert StateIsFinal();
        uint256 n = p.participants.length;
        if (mover >= n) revert InvalidMover(mover);
        {
            bytes32 moveDigest = StateDigest.toTyped(
                _domainOf(p),
                keccak256(abi.encode(MOVE_TYPEHASH, id, from.version, fromHash, mover, keccak256(action)))
            );
            address signer = Sig.recoverCalldata(moveDigest, moverSig);
            if (signer != p.participants[mover]) revert NotMover(mover, signer);
        }

        State memory next;
        try IApp(p.app).transition(
            p, from, mover, action, Env({blockNumber: uint64(block.number), timestamp: uint64(block.timestamp)})
        ) returns (bytes memory appData, uint256[] memory balances, bool isFinal) {
            next = State({
                channelId: id,
                version: from.version + 1,
                balances: balances,
                appData: appData,
                isFinal: isFinal
            });
        } catch (bytes memory reason) {
            revert AppReverted(reason);
        }
        if (next.balances.length != n) revert BalancesLength(next.balances.length, n);
        uint256 before = _sumCalldata(from.balances);
        uint256 after_ = _sum(next.balances);
        if (before != after_) revert NotConserved(before, after_);

        uint48 finalizesAt =
            _hold(id, r.holdings, next.version, StateDigest.structHashMemory(next), p.challengeDuration, true);
        emit Progressed(id, finalizesAt, mover, action, next);
    }

    // ---------------------------------------------------------------- payout

    /// @notice After the timeout, pays out the state held (passed in full; checked against its hash).
    function conclude(ChannelParams calldata p, State calldata s) external {
        bytes32 id = _checkParams(p);
        Record memory r = _records[id];
        if (r.status == Status.Concluded) revert ChannelConcluded(id);
        if (r.status != Status.Disputed) revert NoDispute(id);
        if (block.timestamp < r.finalizesAt) revert DisputeActive(id, r.finalizesAt);
        bytes32 h = StateDigest.structHash(s);
        bytes32 held = _heldHash[id];
        if (h != held) revert NotHeldState(h, held);
        _payout(p, id, r.holdings, s.version, s.balances);
    }

    /// @notice Pays out a co-signed final state at once, whether or not a dispute runs (as long as
    /// its timeout has not passed and the state is not older than the one held).
    function concludeFinal(ChannelParams calldata p, State calldata s, bytes[] calldata sigs) external {
        bytes32 id = _checkParams(p);
        if (!s.isFinal) revert NotFinal();
        Record memory r = _records[id];
        bytes32 h = _checkCoSigned(p, id, s, sigs);
        if (r.status == Status.Concluded) revert ChannelConcluded(id);
        if (r.status == Status.Disputed) {
            if (block.timestamp >= r.finalizesAt) revert DisputeExpired(id, r.finalizesAt);
            if (h != _heldHash[id] && !_replaces(r, s.version)) revert StaleVersion(s.version, r.version);
        }
        _payout(p, id, r.holdings, s.version, s.balances);
    }

    /// @notice Sends all of the caller's credit to `to`.
    function withdraw(address payable to) external {
        if (_locked) revert Reentrancy();
        _locked = true;
        uint256 amount = withdrawable[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        withdrawable[msg.sender] = 0;
        emit Withdrawn(msg.sender, to, amount);
        (bool ok, bytes memory reason) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, reason);
        _locked = false;
    }

    // ---------------------------------------------------------------- reads

    /// @notice The on-chain record of a channel. `status`: 0 open, 1 disputed, 2 concluded;
    /// `forced`: the state held came from `forceProgress`.
    function channelRecord(bytes32 channelId)
        external
        view
        returns (uint64 version, uint48 finalizesAt, uint8 status, uint128 holdings, bytes32 stateHash, bool forced)
    {
        Record memory r = _records[channelId];
        return (r.version, r.finalizesAt, uint8(r.status), r.holdings, _heldHash[channelId], r.forced);
    }

    // ---------------------------------------------------------------- internals

    function _checkParams(ChannelParams calldata p) private view returns (bytes32) {
        if (p.chainId != block.chainid) revert WrongChainId(p.chainId, block.chainid);
        if (p.adjudicator != address(this)) revert WrongAdjudicator(p.adjudicator);
        if (p.participants.length < 2) revert TooFewParticipants(p.participants.length);
        if (p.challengeDuration == 0 || p.challengeDuration > MAX_CHALLENGE_DURATION) {
            revert BadChallengeDuration(p.challengeDuration);
        }
        return StateDigest.channelId(p);
    }

    /// @dev The domain separator for `p`, which `_checkParams` has tied to this chain and contract;
    /// recomputed only if the chain id changed since deployment (a fork).
    function _domainOf(ChannelParams calldata p) private view returns (bytes32) {
        return p.chainId == _deployChainId ? _domain : StateDigest.domainSeparator(p.chainId, p.adjudicator);
    }

    /// @dev Checks that every participant signed `s` (in order) and returns its struct hash.
    function _checkCoSigned(ChannelParams calldata p, bytes32 id, State calldata s, bytes[] calldata sigs)
        private
        view
        returns (bytes32 h)
    {
        if (s.channelId != id) revert WrongChannel(s.channelId, id);
        uint256 n = p.participants.length;
        if (s.balances.length != n) revert BalancesLength(s.balances.length, n);
        if (sigs.length != n) revert SignatureCount(sigs.length, n);
        h = StateDigest.structHash(s);
        bytes32 digest = StateDigest.toTyped(_domainOf(p), h);
        for (uint256 i; i < n; ++i) {
            address signer = Sig.recoverCalldata(digest, sigs[i]);
            if (signer != p.participants[i]) revert NotSigner(i, signer);
        }
    }

    /// @dev Reverts unless a state of `version` may replace what the channel holds now.
    function _checkReplaces(Record memory r, bytes32 id, uint64 version) private view {
        if (r.status == Status.Concluded) revert ChannelConcluded(id);
        if (r.status == Status.Disputed) {
            if (block.timestamp >= r.finalizesAt) revert DisputeExpired(id, r.finalizesAt);
            if (!_replaces(r, version)) revert StaleVersion(version, r.version);
        }
    }

    /// @dev Whether a co-signed state of `version` outranks the state held in a dispute: a higher
    /// version always does; the same version does when the state held was forced.
    function _replaces(Record memory r, uint64 version) private pure returns (bool) {
        return version > r.version || (version == r.version && r.forced);
    }

    function _hold(bytes32 id, uint128 holdings, uint64 version, bytes32 h, uint64 duration, bool forced)
        private
        returns (uint48 finalizesAt)
    {
        finalizesAt = uint48(block.timestamp + duration);
        _records[id] =
            Record({version: version, finalizesAt: finalizesAt, status: Status.Disputed, forced: forced, holdings: holdings});
        _heldHash[id] = h;
    }

    /// @dev Credits `balances[i]` to participant i in index order, each capped by what is left of
    /// the holdings; a surplus (holdings above the sum) is split equally, the rest of the division
    /// to participant 0. Marks the channel concluded.
    function _payout(ChannelParams calldata p, bytes32 id, uint128 holdings, uint64 version, uint256[] calldata balances)
        private
    {
        uint256 n = p.participants.length;
        uint256 left = holdings;
        uint256[] memory paid = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 b = balances[i] < left ? balances[i] : left;
            paid[i] = b;
            left -= b;
        }
        if (left != 0) {
            uint256 share = left / n;
            for (uint256 i; i < n; ++i) {
                paid[i] += share;
            }
            paid[0] += left - share * n;
        }
        _records[id] = Record({version: version, finalizesAt: 0, status: Status.Concluded, forced: false, holdings: 0});
        delete _heldHash[id];
        for (uint256 i; i < n; ++i) {
            if (paid[i] != 0) withdrawable[p.participants[i]] += paid[i];
        }
        emit Concluded(id, version, paid);
    }

    /// @dev The sum of balances; an overflowing sum can never be conserved, so it reverts as such.
    function _sumCalldata(uint256[] calldata xs) private pure returns (uint256 total) {
        for (uint256 i; i < xs.length; ++i) {
            uint256 t;
            unchecked {
                t = total + xs[i];
            }
            if (t < total) revert NotConserved(type(uint256).max, 0);
            total = t;
        }
    }

    function _sum(uint256[] memory xs) private pure returns (uint256 total) {
        for (uint256 i; i < xs.length; ++i) {
            uint256 t;
            unchecked {
                t = total + xs[i];
            }
            if (t < total) revert NotConserved(type(uint256).max, 0);
            total = t;
        }
    }
}
