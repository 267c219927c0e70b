// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ChannelParams, State, Env} from "./ChanvmTypes.sol";
import {IApp} from "./IApp.sol";
import {StateDigest} from "./StateDigest.sol";
import {Sig} from "./Sig.sol";

/// @notice Holds the funds of chanvm channels and settles disputes about them. The rules are in
/// docs/adjudicator.md; in short:
///
/// - `deposit` adds ETH to a channel's holdings and to what the named participant deposited;
///   `depositExpecting` does so only while that is still the amount the caller read, so that a
///   retried deposit goes in once.
/// - `register` puts a co-signed state on chain. On an open channel it opens a dispute at t0:
///   forced steps are accepted until `movesUntil = t0 + D` and the dispute ends at
///   `finalizesAt = t0 + D` (D = challengeDuration). During a dispute a co-signed state replaces
///   the state held iff its version is above the record's `baseVersion` (the version of the
///   co-signed state the state held grew from), and moves both deadlines to at least now + D:
///   forced steps on it stay possible for a full D.
/// - `forceProgress` applies one app step, signed by its mover, to the state held (or to a
///   co-signed state it registers in the same call), with the real block as Env, and holds the
///   result as version + 1 over the same base. It is accepted only before `movesUntil` and sets
///   `finalizesAt = max(finalizesAt, now + D)`: every forced step leaves the other side a full D to
///   answer, and every dispute ends by T + 2D, T the time its latest co-signed state was registered.
/// - `conclude` pays out the state held once `finalizesAt` has passed; `concludeFinal` pays out a
///   co-signed final state at once, dispute or not.
/// - A payout is made from what was deposited for the participants. When those deposits cover the
///   state's balances, each participant gets its balance and an address that deposited more than
///   its balances gets the excess back; when they do not (the channel was never fully funded),
///   every participant gets back what it deposited. Deposits made for other addresses go back to
///   those addresses (`reclaimDeposit`), never to the participants.
/// - Payouts are credited per address and taken with `withdraw` (pull payments).
///
/// Storage per channel: a packed record (version, baseVersion, finalizesAt, movesUntil, status)
/// and the EIP-712 struct hash of the state held, which are all `register` and `forceProgress`
/// touch; the holdings and the deposit of each participant live in slots of their own. Full states
/// travel in calldata and in events only.
contract Adjudicator {
    enum Status {
        Open, // no state held; may hold funds
        Disputed, // a state is held; the deadlines run
        Concluded // paid out; nothing more happens
    }

    /// @dev One storage slot: 64 + 64 + 48 + 48 + 8 bits. The state held is forced (produced by
    /// `forceProgress`) iff `version > baseVersion`.
    struct Record {
        uint64 version;
        uint64 baseVersion;
        uint48 finalizesAt;
        uint48 movesUntil;
        Status status;
    }

    /// @notice EIP-712 type a mover signs for `forceProgress`, under the chanvm domain.
    /// `stateHash` is the EIP-712 struct hash of the state the step applies to; `action` is hashed
    /// as EIP-712 `bytes` (keccak256 of its contents).
    bytes32 public constant MOVE_TYPEHASH =
        keccak256("Move(bytes32 channelId,uint64 version,bytes32 stateHash,uint256 mover,bytes action)");

    /// @notice Longest challenge duration accepted (keeps `now + 2D` inside 48 bits).
    uint64 public constant MAX_CHALLENGE_DURATION = type(uint32).max;

    mapping(bytes32 channelId => Record) internal _records;
    mapping(bytes32 channelId => bytes32) internal _heldHash;
    mapping(bytes32 channelId => uint256) internal _holdings;

    /// @notice Wei deposited into a channel on behalf of each participant (kept after conclusion).
    mapping(bytes32 channelId => mapping(address participant => uint256)) public deposits;

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

    /// @notice `deposited` is the participant's total in the channel, `holdings` the channel's.
    event Deposited(
        bytes32 indexed channelId, address indexed participant, uint256 amount, uint256 deposited, uint256 holdings
    );
    /// @notice A co-signed state is held (by `register`, or as the base of a `forceProgress` with
    /// signatures, before its `Progressed`).
    event Registered(bytes32 indexed channelId, uint48 finalizesAt, uint48 movesUntil, State state);
    /// @notice A forced step: `state` is held, grown from the co-signed state of `baseVersion`. The
    /// app ran with Env = (the log's block number, that block's timestamp).
    event Progressed(
        bytes32 indexed channelId, uint48 finalizesAt, uint64 baseVersion, uint256 mover, bytes action, State state
    );
    event Concluded(bytes32 indexed channelId, uint64 version, uint256[] payouts);
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
    /// @notice What was deposited for `account`, not a participant, credited back to it.
    event DepositReclaimed(bytes32 indexed channelId, address indexed account, uint256 amount);

    error WrongChainId(uint256 expected, uint256 actual);
    error WrongAdjudicator(address adjudicator);
    error TooFewParticipants(uint256 count);
    error BadChallengeDuration(uint64 duration);
    error AppCodeMismatch(bytes32 onChain, bytes32 expected);
    error WrongChannel(bytes32 stateChannelId, bytes32 channelId);
    error BalancesLength(uint256 length, uint256 participants);
    error SignatureCount(uint256 count, uint256 participants);
    error NotSigner(uint256 index, address signer);
    /// @notice A co-signed state must be above the base of the state held.
    error StaleVersion(uint64 version, uint64 baseVersion);
    error ChannelConcluded(bytes32 channelId);
    error DisputeExpired(bytes32 channelId, uint48 finalizesAt);
    error DisputeActive(bytes32 channelId, uint48 finalizesAt);
    /// @notice Forced steps of this dispute ended at `movesUntil`.
    error MovesClosed(bytes32 channelId, uint48 movesUntil);
    error NoDispute(bytes32 channelId);
    error NotHeldState(bytes32 stateHash, bytes32 held);
    error StateIsFinal();
    error NotFinal();
    error InvalidMover(uint256 mover);
    error NotMover(uint256 mover, address signer);
    error AppReverted(bytes reason);
    error NotConserved(uint256 before, uint256 after_);
    error ZeroDeposit();
    /// @notice `depositExpecting` found another deposit for the participant than the caller expected.
    error DepositChanged(bytes32 channelId, address participant, uint256 expected, uint256 actual);
    error NothingToWithdraw(address account);
    error TransferFailed(address to, bytes reason);
    error Reentrancy();
    error NotConcluded(bytes32 channelId);
    error OpeningNotFunded(bytes32 channelId, address participant, uint256 deposited, uint256 opening);
    error IsParticipant(address account);
    error NothingToReclaim(bytes32 channelId, address account);

    // ---------------------------------------------------------------- funding

    /// @notice Adds `msg.value` to the channel's holdings and to what `participant` deposited into
    /// it. Anyone may deposit for anyone; the deposit per participant decides what it gets back of
    /// an excess and what an underfunded channel pays back (see `_payout`).
    function deposit(bytes32 channelId, address participant) external payable {
        _deposit(channelId, participant);
    }

    /// @notice `deposit`, only while what was deposited for `participant` is `expected`
    /// (`DepositChanged` otherwise): a deposit sent again (a retried transaction) reverts instead of
    /// adding its amount a second time, which a payout could pay to others (see `_payout`).
    function depositExpecting(bytes32 channelId, address participant, uint256 expected) external payable {
        uint256 actual = deposits[channelId][participant];
        if (actual != expected) revert DepositChanged(channelId, participant, expected, actual);
        _deposit(channelId, participant);
    }

    function _deposit(bytes32 channelId, address participant) private {
        if (msg.value == 0) revert ZeroDeposit();
        if (_records[channelId].status == Status.Concluded) revert ChannelConcluded(channelId);
        uint256 total = deposits[channelId][participant] + msg.value;
        deposits[channelId][participant] = total;
        uint256 holdings = _holdings[channelId] + msg.value;
        _holdings[channelId] = holdings;
        emit Deposited(channelId, participant, msg.value, total, holdings);
    }

    // ---------------------------------------------------------------- disputes

    /// @notice Holds a co-signed state. On an open channel it opens a dispute (both deadlines at
    /// now + D); during a dispute it needs a version above the record's `baseVersion` and moves
    /// both deadlines to at least now + D.
    function register(ChannelParams calldata p, State calldata s, bytes[] calldata sigs) external {
        bytes32 id = _checkParams(p);
        Record memory r = _records[id];
        bytes32 h = _checkCoSigned(p, id, s, sigs);
        _checkReplaces(r, id, s.version);
        _adoptCoSigned(r, s.version, p.challengeDuration);
        _records[id] = r;
        _heldHash[id] = h;
        emit Registered(id, r.finalizesAt, r.movesUntil, s);
    }

    /// @notice Applies one step of the app, signed by its mover, and holds the result as
    /// `from.version + 1` over the same base. With `fromSigs` empty, `from` must be the state held;
    /// otherwise `from` is a co-signed state that replaces the state held (as `register`, and
    /// announced by a `Registered` event, and moving both deadlines to at least now + D). Accepted
    /// only before the dispute's `movesUntil`; sets `finalizesAt` to at least now + D.
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
            _adoptCoSigned(r, from.version, p.challengeDuration);
            emit Registered(id, r.finalizesAt, r.movesUntil, from);
        }
        if (block.timestamp >= r.movesUntil) revert MovesClosed(id, r.movesUntil);
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
        if (from.version == 0) _checkOpeningFunded(p, id, from.balances);

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

        r.version = next.version;
        uint48 answerBy = uint48(block.timestamp + p.challengeDuration);
        if (answerBy > r.finalizesAt) r.finalizesAt = answerBy;
        _records[id] = r;
        _heldHash[id] = StateDigest.structHashMemory(next);
        emit Progressed(id, r.finalizesAt, r.baseVersion, mover, action, next);
    }

    // ---------------------------------------------------------------- payout

    /// @notice After `finalizesAt`, pays out the state held (passed in full; checked against its hash).
    function conclude(ChannelParams calldata p, State calldata s) external {
        bytes32 id = _checkParams(p);
        Record memory r = _records[id];
        if (r.status == Status.Concluded) revert ChannelConcluded(id);
        if (r.status != Status.Disputed) revert NoDispute(id);
        if (block.timestamp < r.finalizesAt) revert DisputeActive(id, r.finalizesAt);
        bytes32 h = StateDigest.structHash(s);
        bytes32 held = _heldHash[id];
        if (h != held) revert NotHeldState(h, held);
        _payout(p, id, s.version, s.balances);
    }

    /// @notice Pays out a co-signed final state at once, whether or not a dispute runs. During a
    /// dispute (before `finalizesAt`) the state must be the one held or above the record's base.
    function concludeFinal(ChannelParams calldata p, State calldata s, bytes[] calldata sigs) external {
        bytes32 id = _checkParams(p);
        if (!s.isFinal) revert NotFinal();
        Record memory r = _records[id];
        bytes32 h = _checkCoSigned(p, id, s, sigs);
        if (r.status == Status.Concluded) revert ChannelConcluded(id);
        if (r.status == Status.Disputed) {
            if (block.timestamp >= r.finalizesAt) revert DisputeExpired(id, r.finalizesAt);
            if (h != _heldHash[id] && !_replaces(r, s.version)) revert StaleVersion(s.version, r.baseVersion);
        }
        _payout(p, id, s.version, s.balances);
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

    /// @notice The on-chain record of a channel. `status`: 0 open, 1 disputed, 2 concluded. The
    /// state held is forced iff `version > baseVersion`. `holdings` is the wei the channel holds.
    function channelRecord(bytes32 channelId)
        external
        view
        returns (
            uint8 status,
            uint64 version,
            uint64 baseVersion,
            uint48 finalizesAt,
            uint48 movesUntil,
            uint256 holdings,
            bytes32 stateHash
        )
    {
        Record memory r = _records[channelId];
        return (
            uint8(r.status),
            r.version,
            r.baseVersion,
            r.finalizesAt,
            r.movesUntil,
            _holdings[channelId],
            _heldHash[channelId]
        );
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

    /// @dev Reverts unless a co-signed state of `version` may replace what the channel holds now.
    function _checkReplaces(Record memory r, bytes32 id, uint64 version) private view {
        if (r.status == Status.Concluded) revert ChannelConcluded(id);
        if (r.status == Status.Disputed) {
            if (block.timestamp >= r.finalizesAt) revert DisputeExpired(id, r.finalizesAt);
            if (!_replaces(r, version)) revert StaleVersion(version, r.baseVersion);
        }
    }

    /// @dev Whether a co-signed state of `version` outranks the state held in a dispute: it must be
    /// above the base the state held grew from. A co-signed state held is its own base, so it needs
    /// a strictly higher version; a forced chain is replaced whole by any co-signed state above its
    /// base, however far the chain got. Mirrored by engine/adjudicator/outranksHeld.ts.
    function _replaces(Record memory r, uint64 version) private pure returns (bool) {
        return version > r.baseVersion;
    }

    /// @dev Makes the co-signed state of `version` the state held (and its own base) in `r`. On an
    /// open channel this opens the dispute at t0 = now: forced steps until t0 + D, conclusion from
    /// t0 + D. During a dispute it moves both deadlines to at least now + D, so that forced steps
    /// can be made on the new base for a full D: the state it replaces may have been a forced chain
    /// whose moves (oracle evidence, a deadline passed) its mover must be able to make again on top
    /// of it. Each such move needs a co-signed state above the base, so the dispute still ends.
    function _adoptCoSigned(Record memory r, uint64 version, uint64 duration) private view {
        uint48 t = uint48(block.timestamp + duration);
        if (r.status == Status.Open) {
            r.finalizesAt = t;
            r.movesUntil = t;
            r.status = Status.Disputed;
        } else {
            if (t > r.movesUntil) r.movesUntil = t;
            if (t > r.finalizesAt) r.finalizesAt = t;
        }
        r.version = version;
        r.baseVersion = version;
    }

    /// @dev Credits the payout of a state and marks the channel concluded. Only what was deposited
    /// for the participants' addresses (the pool, D) is paid out; deposits made for other addresses
    /// stay in the holdings for `reclaimDeposit`. With B the sum of the state's balances:
    ///
    /// - D >= B (funded): participant i gets `balances[i]`. The rest, D - B, goes back to the
    ///   addresses that deposited more than their balances sum to, in proportion to that excess
    ///   (rounded down; the wei the rounding leaves, fewer than those addresses, one each to the
    ///   first of them in participant order). Nobody else gets any of it, and nobody more than its
    ///   excess.
    /// - D < B (never fully funded), or the state is the opening state (version 0, which moves no
    ///   value): each participant address gets back exactly its deposit; the state's balances do
    ///   not matter. A state above version 0 is co-signed after funding (the off-chain protocol
    ///   signs no step before every opening balance is deposited) or forced on a funded opening
    ///   (`forceProgress` checks it), so a participant that never funded its opening balance is
    ///   never paid it from another's deposit.
    ///
    /// An address named twice gets its deposit and its excess at its first index. The credits sum to
    /// D. Mirrored, wei for wei, by node/payout.ts.
    function _payout(ChannelParams calldata p, bytes32 id, uint64 version, uint256[] calldata balances) private {
        uint256 n = p.participants.length;
        uint256[] memory paid = new uint256[](n);
        uint256[] memory dep = new uint256[](n); // deposit of each address, at its first index
        uint256 pool;
        for (uint256 i; i < n; ++i) {
            if (!_seenBefore(p.participants, i)) {
                dep[i] = deposits[id][p.participants[i]];
                pool += dep[i];
            }
        }
        // The opening state (version 0) moves no value: it pays every deposit back as it came.
        bool funded = version != 0;
        uint256 need;
        for (uint256 i; funded && i < n; ++i) {
            // `need <= pool` here, so this compares without overflow.
            if (balances[i] > pool - need) {
                funded = false;
                break;
            }
            need += balances[i];
        }
        if (!funded) {
            for (uint256 i; i < n; ++i) {
                paid[i] = dep[i];
            }
        } else {
            for (uint256 i; i < n; ++i) {
                paid[i] = balances[i];
            }
            uint256 rest = pool - need;
            if (rest != 0) {
                // Every sum below is at most `pool`, so nothing overflows.
                uint256[] memory excess = new uint256[](n);
                uint256 excessSum;
                for (uint256 i; i < n; ++i) {
                    if (dep[i] == 0) continue;
                    uint256 own;
                    for (uint256 j = i; j < n; ++j) {
                        if (p.participants[j] == p.participants[i]) own += balances[j];
                    }
                    if (dep[i] > own) {
                        excess[i] = dep[i] - own;
                        excessSum += excess[i];
                    }
                }
                // rest <= excessSum, so each share is at most its excess, and below it when
                // rest < excessSum; the wei the rounding leaves are fewer than the addresses with
                // an excess, and each of the first ones gets one, never beyond its excess.
                uint256 left = rest;
                for (uint256 i; i < n; ++i) {
                    uint256 share = excess[i] * rest / excessSum;
                    paid[i] += share;
                    left -= share;
                }
                for (uint256 i; left != 0; ++i) {
                    if (excess[i] != 0) {
                        paid[i] += 1;
                        --left;
                    }
                }
            }
        }
        _records[id] =
            Record({version: version, baseVersion: version, finalizesAt: 0, movesUntil: 0, status: Status.Concluded});
        delete _heldHash[id];
        _holdings[id] -= pool;
        for (uint256 i; i < n; ++i) {
            if (paid[i] != 0) withdrawable[p.participants[i]] += paid[i];
        }
        emit Concluded(id, version, paid);
    }

    /// @dev Reverts unless what was deposited for each participant address covers what the opening
    /// state (version 0) gives it: no step is forced on a channel its parties never funded, so a
    /// forced state never pays one participant's opening balance from another's deposit.
    function _checkOpeningFunded(ChannelParams calldata p, bytes32 id, uint256[] calldata opening) private view {
        uint256 n = p.participants.length;
        for (uint256 i; i < n; ++i) {
            if (_seenBefore(p.participants, i)) continue;
            uint256 own;
            for (uint256 j = i; j < n; ++j) {
                if (p.participants[j] == p.participants[i]) own += opening[j];
            }
            uint256 have = deposits[id][p.participants[i]];
            if (have < own) revert OpeningNotFunded(id, p.participants[i], have, own);
        }
    }

    /// @notice Credits to `account`, which is not a participant of the concluded channel `p`, what
    /// was deposited for it there: a concluded channel pays its participants from their own
    /// deposits only. Anyone may call it; the credit goes to `account` (take it with `withdraw`).
    /// Sets the account's deposit in the channel to zero.
    function reclaimDeposit(ChannelParams calldata p, address account) external {
        bytes32 id = _checkParams(p);
        if (_records[id].status != Status.Concluded) revert NotConcluded(id);
        uint256 n = p.participants.length;
        for (uint256 i; i < n; ++i) {
            if (p.participants[i] == account) revert IsParticipant(account);
        }
        uint256 amount = deposits[id][account];
        if (amount == 0) revert NothingToReclaim(id, account);
        deposits[id][account] = 0;
        _holdings[id] -= amount;
        withdrawable[account] += amount;
        emit DepositReclaimed(id, account, amount);
    }

    /// @dev Whether `xs[i]` also appears at a lower index.
    function _seenBefore(address[] calldata xs, uint256 i) private pure returns (bool) {
        for (uint256 j; j < i; ++j) {
            if (xs[j] == xs[i]) return true;
        }
        return false;
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
