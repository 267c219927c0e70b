// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Sig} from "../Sig.sol";

/// @notice A signed device reading: EIP-712 type
/// `Reading(bytes32 device,uint64 sequence,uint64 timestamp,bytes32 kind,int64 value,bytes32 unit)`.
/// `device` is the signer id of the device key (see `OracleMessages.idOfAddress` / `idOfP256`), so a
/// reading names its signer. `sequence` strictly increases per device (apps keep the last one in
/// appData for replay protection). `timestamp` is unix seconds. `kind` and `unit` are ASCII text
/// right-padded with zero bytes (e.g. "temperature", "mC"). `value` is an integer in the unit given:
/// temperature in milli-degrees Celsius ("mC"), so -18.25 °C is -18250.
struct Reading {
    bytes32 device;
    uint64 sequence;
    uint64 timestamp;
    bytes32 kind;
    int64 value;
    bytes32 unit;
}

/// @notice A signed oracle answer: EIP-712 type `Answer(bytes32 questionId,bytes32 answer,uint64 timestamp)`.
/// `questionId` is app-defined (TvDelivery: keccak256 of the tracking id); `answer` is 32 bytes, by
/// convention ASCII text right-padded with zeros (e.g. "delivered"); `timestamp` is unix seconds.
struct Answer {
    bytes32 questionId;
    bytes32 answer;
    uint64 timestamp;
}

/// @notice A signature and what it takes to check it.
/// - `curve == 1` (secp256k1): `sig` is 65 bytes r || s || v, v in {27, 28}, low s; `pubX`, `pubY` are zero.
///   Signer id: `bytes32(uint256(uint160(address)))`.
/// - `curve == 2` (P-256 / secp256r1, as on ATECC608 secure elements and WebAuthn): `sig` is 64 bytes
///   r || s over sha256(digest) (ES256) with 1 <= r < n and 1 <= s <= n/2 (low s); (`pubX`, `pubY`)
///   is the uncompressed public key.
///   Signer id: `keccak256(abi.encodePacked(pubX, pubY))`.
struct OracleSig {
    uint8 curve;
    bytes32 pubX;
    bytes32 pubY;
    bytes sig;
}

/// @notice Verification of device readings and oracle answers inside apps, with exactly the rules
/// of the TypeScript verifier in `oracles/message`: the exact EIP-712 digest under the domain
/// `{name: "chanvm-oracle", version: "1", chainId}`, low s on both curves, no zero signer.
/// secp256k1 goes through `ecrecover` (via `Sig`); P-256 (ES256: the signed hash is sha256 of the
/// digest) through the SHA-256 precompile (0x02) and the P-256 precompile at 0x100 (EIP-7951 / RIP-7212). Every failure reverts with a custom error; nothing returns a silent false.
library OracleMessages {
    uint8 internal constant SECP256K1 = 1;
    uint8 internal constant P256 = 2;

    bytes32 internal constant DOMAIN_TYPEHASH = keccak256("EIP712Domain(string name,string version,uint256 chainId)");
    bytes32 internal constant NAME_HASH = keccak256("chanvm-oracle");
    bytes32 internal constant VERSION_HASH = keccak256("1");
    bytes32 internal constant READING_TYPEHASH =
        keccak256("Reading(bytes32 device,uint64 sequence,uint64 timestamp,bytes32 kind,int64 value,bytes32 unit)");
    bytes32 internal constant ANSWER_TYPEHASH = keccak256("Answer(bytes32 questionId,bytes32 answer,uint64 timestamp)");

    /// @dev The P-256 verification precompile (EIP-7951, Osaka; RIP-7212 on L2s).
    address internal constant P256_VERIFIER = address(0x100);
    uint256 internal constant P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551;
    uint256 internal constant P256_HALF_N = 0x7FFFFFFF800000007FFFFFFFFFFFFFFFDE737D56D38BCF4279DCE5617E3192A8;

    error UnknownCurve(uint8 curve);
    error UnexpectedPublicKey();
    error BadP256SignatureLength(uint256 length);
    error P256HighS();
    error P256InvalidSignature();
    error WrongSigner(bytes32 expected, bytes32 actual);
    error UnknownOracle(bytes32 signer);
    error DuplicateOracle(bytes32 signer);
    error BadQuorum(uint256 threshold, uint256 oracles);
    error QuorumNotMet(uint256 signed, uint256 threshold);

    // ------------------------------------------------------------------ digests

    function domainSeparator(uint256 chainId) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chainId));
    }

    function readingDigest(uint256 chainId, Reading memory r) internal pure returns (bytes32) {
        bytes32 structHash =
            keccak256(abi.encode(READING_TYPEHASH, r.device, r.sequence, r.timestamp, r.kind, r.value, r.unit));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(chainId), structHash));
    }

    function answerDigest(uint256 chainId, Answer memory a) internal pure returns (bytes32) {
        bytes32 structHash = keccak256(abi.encode(ANSWER_TYPEHASH, a.questionId, a.answer, a.timestamp));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(chainId), structHash));
    }

    // ------------------------------------------------------------------ signer ids

    /// @notice The signer id of a secp256k1 key: its address, left-padded to 32 bytes.
    function idOfAddress(address signer) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(signer)));
    }

    /// @notice The signer id of a P-256 key: keccak256 of the 64-byte uncompressed point x || y.
    function idOfP256(bytes32 x, bytes32 y) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(x, y));
    }

    // ------------------------------------------------------------------ verification

    /// @notice The signer id of `digest` under `s`. Reverts on any invalid signature
    /// (`Sig.BadSignatureLength`, `Sig.BadSignatureV`, `Sig.HighS`, `Sig.InvalidSignature`,
    /// `UnknownCurve`, `UnexpectedPublicKey`, `BadP256SignatureLength`, `P256HighS`, `P256InvalidSignature`).
    function signerOf(bytes32 digest, OracleSig memory s) internal view returns (bytes32) {
        if (s.curve == SECP256K1) {
            if (s.pubX != bytes32(0) || s.pubY != bytes32(0)) revert UnexpectedPublicKey();
            return idOfAddress(Sig.recover(digest, s.sig));
        }
        if (s.curve == P256) {
            verifyP256(digest, s.sig, s.pubX, s.pubY);
            return idOfP256(s.pubX, s.pubY);
        }
        revert UnknownCurve(s.curve);
    }

    /// @notice Checks a P-256 signature (64 bytes r || s, low s) of sha256(digest) against the public
    /// key (ES256, what secure elements and WebAuthn sign), through the SHA-256 precompile and the
    /// precompile at 0x100. Reverts unless valid. On a chain without the precompile every call fails.
    function verifyP256(bytes32 digest, bytes memory sig, bytes32 x, bytes32 y) internal view {
        if (sig.length != 64) revert BadP256SignatureLength(sig.length);
        bytes32 r;
        bytes32 sv;
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
            sv := mload(add(sig, 0x40))
        }
        if (uint256(sv) > P256_HALF_N) revert P256HighS();
        if (r == 0 || uint256(r) >= P256_N || sv == 0) revert P256InvalidSignature();
        (bool ok, bytes memory out) = P256_VERIFIER.staticcall(abi.encode(sha256(abi.encode(digest)), r, sv, x, y));
        if (!ok || out.length != 32 || abi.decode(out, (uint256)) != 1) revert P256InvalidSignature();
    }

    /// @notice Verifies a device reading: the signature is valid for `readingDigest(chainId, r)` and
    /// its signer id is `r.device`. Returns `r.device`; reverts otherwise (`WrongSigner` when the
    /// signature is valid but by another key). The app still checks that `r.device` is the device
    /// it registered, that `r.sequence` is above the last one it took, and the timestamp window.
    function verifyReading(uint256 chainId, Reading memory r, OracleSig memory s) internal view returns (bytes32) {
        bytes32 signer = signerOf(readingDigest(chainId, r), s);
        if (signer != r.device) revert WrongSigner(r.device, signer);
        return signer;
    }

    /// @notice Verifies one oracle's answer: valid signature by the oracle with id `oracle`.
    function verifyAnswer(uint256 chainId, Answer memory a, OracleSig memory s, bytes32 oracle) internal view {
        bytes32 signer = signerOf(answerDigest(chainId, a), s);
        if (signer != oracle) revert WrongSigner(oracle, signer);
    }

    /// @notice Verifies that at least `threshold` distinct oracles out of `oracles` signed `a`.
    /// Every signature must be valid and by a listed oracle (else `UnknownOracle`), no oracle may
    /// appear twice (else `DuplicateOracle`), `1 <= threshold <= oracles.length <= 256` (else
    /// `BadQuorum`) and there must be at least `threshold` signatures (else `QuorumNotMet`).
    /// Returns a bitmap of the oracle indexes that signed.
    function verifyAnswerQuorum(
        uint256 chainId,
        Answer memory a,
        OracleSig[] memory sigs,
        bytes32[] memory oracles,
        uint256 threshold
    ) internal view returns (uint256 signedMask) {
        if (threshold == 0 || threshold > oracles.length || oracles.length > 256) {
            revert BadQuorum(threshold, oracles.length);
        }
        bytes32 digest = answerDigest(chainId, a);
        for (uint256 i = 0; i < sigs.length; i++) {
            bytes32 signer = signerOf(digest, sigs[i]);
            uint256 j = 0;
            while (j < oracles.length && oracles[j] != signer) j++;
            if (j == oracles.length) revert UnknownOracle(signer);
            if (signedMask & (1 << j) != 0) revert DuplicateOracle(signer);
            signedMask |= 1 << j;
        }
        if (sigs.length < threshold) revert QuorumNotMet(sigs.length, threshold);
    }
}
