// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OracleMessages, Reading, Answer, OracleSig} from "../oracles/OracleMessages.sol";

/// @notice Exposes the OracleMessages library, so tests can run it in the sandbox and on chain and
/// compare its verdicts with TypeScript.
contract OracleMessagesHarness {
    function readingDigest(uint256 chainId, Reading calldata r) external pure returns (bytes32) {
        return OracleMessages.readingDigest(chainId, r);
    }

    function answerDigest(uint256 chainId, Answer calldata a) external pure returns (bytes32) {
        return OracleMessages.answerDigest(chainId, a);
    }

    function signerOf(bytes32 digest, OracleSig calldata s) external view returns (bytes32) {
        return OracleMessages.signerOf(digest, s);
    }

    function verifyReading(uint256 chainId, Reading calldata r, OracleSig calldata s) external view returns (bytes32) {
        return OracleMessages.verifyReading(chainId, r, s);
    }

    function verifyAnswer(uint256 chainId, Answer calldata a, OracleSig calldata s, bytes32 oracle) external view returns (bool) {
        OracleMessages.verifyAnswer(chainId, a, s, oracle);
        return true;
    }

    function verifyAnswerQuorum(
        uint256 chainId,
        Answer calldata a,
        OracleSig[] calldata sigs,
        bytes32[] calldata oracles,
        uint256 threshold
    ) external view returns (uint256) {
        return OracleMessages.verifyAnswerQuorum(chainId, a, sigs, oracles, threshold);
    }

    function idOfP256(bytes32 x, bytes32 y) external pure returns (bytes32) {
        return OracleMessages.idOfP256(x, y);
    }
}
