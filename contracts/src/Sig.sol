// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Strict secp256k1 signature recovery: 65 bytes (r, s, v), v in {27, 28}, s in the lower
/// half of the order, and a recovered signer that is not the zero address. Anything else reverts,
/// so a signature has exactly one accepted encoding (no malleability).
library Sig {
    error BadSignatureLength(uint256 length);
    error BadSignatureV(uint8 v);
    error HighS();
    error InvalidSignature();

    uint256 internal constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    function recover(bytes32 digest, bytes memory sig) internal pure returns (address signer) {
        if (sig.length != 65) revert BadSignatureLength(sig.length);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
            v := byte(0, mload(add(sig, 0x60)))
        }
        return recoverRSV(digest, r, s, v);
    }

    function recoverCalldata(bytes32 digest, bytes calldata sig) internal pure returns (address signer) {
        if (sig.length != 65) revert BadSignatureLength(sig.length);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(sig.offset)
            s := calldataload(add(sig.offset, 0x20))
            v := byte(0, calldataload(add(sig.offset, 0x40)))
        }
        return recoverRSV(digest, r, s, v);
    }

    function recoverRSV(bytes32 digest, bytes32 r, bytes32 s, uint8 v) internal pure returns (address signer) {
        if (v != 27 && v != 28) revert BadSignatureV(v);
        if (uint256(s) > HALF_N) revert HighS();
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert InvalidSignature();
    }
}
